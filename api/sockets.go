package api

import (
	"context"
	"net/http"
	"sync"
)

// CloseServiceRestart is the close code of the WebSockets a server closes
// when it shuts down (RFC 6455 1012, service restart): the client should
// reconnect, to this process once it is back or to another behind the same
// address, rather than give up or sign in again.
const CloseServiceRestart = 1012

// Sockets are the WebSocket connections open on a handler. The server
// closes them, each with a close frame a client can act on, when it shuts
// down: http.Server.Shutdown does not know a connection once it is a
// WebSocket, and a process that exits with them open leaves its clients a
// dropped TCP connection, indistinguishable from a crash.
type Sockets struct {
	mu      sync.Mutex
	open    map[*closeCode]context.CancelFunc
	closing bool
	wg      sync.WaitGroup
}

// NewSockets returns an empty set.
func NewSockets() *Sockets { return &Sockets{open: map[*closeCode]context.CancelFunc{}} }

// Shutdown refuses new WebSockets (503), closes the open ones with
// CloseServiceRestart and waits until they have closed (their close
// handshake done) or ctx ends; that includes a connection that has not yet
// sent its connection_init (see closeCodes.Accept).
func (s *Sockets) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for slot, cancel := range s.open {
		slot.mu.Lock()
		slot.code, slot.reason = CloseServiceRestart, "the server is restarting: reconnect"
		slot.mu.Unlock()
		cancel() // gqlgen closes a connection whose context ends
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handle serves a WebSocket upgrade request as one of the set, with its
// closeCode slot (see withCloseCode) and a context Shutdown can end.
func (s *Sockets) handle(w http.ResponseWriter, r *http.Request, next http.Handler) {
	slot := &closeCode{}
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), closeCodeKey{}, slot))
	defer cancel()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.open[slot] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.open, slot)
		s.mu.Unlock()
		s.wg.Done()
	}()
	next.ServeHTTP(w, r.WithContext(ctx))
}
