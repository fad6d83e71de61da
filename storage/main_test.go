package storage_test

import (
	"os"
	"testing"

	"estatecrm/storage/s3test"
)

// TestMain lets the test binary be the S3 server of s3test.StartProcess.
func TestMain(m *testing.M) {
	if s3test.ServeIfChild() {
		return
	}
	os.Exit(m.Run())
}
