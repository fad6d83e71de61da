package graph

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"

	"estatecrm/ent"
)

// A kept page statement binds the viewer's id once for every read rule that
// compares with it: five of the nine parameters of a phone's customer
// search (the fold's visits, the customers' owner, the complaints' assignee
// and filer) were the same string. Each parameter costs the server a
// conversion, an encoding and its bytes in every Bind, and PostgreSQL its
// input function. bindOnce numbers each distinct constant string once;
// PostgreSQL then deduces one type for the shared parameter from all its
// uses, and refuses the statement ("inconsistent types deduced", SQLSTATE
// 42P08) where they disagree (a varchar column and a text function): the
// page then runs the statement as ent rendered it (pageStatement.whole).

// bindOnce returns p with equal constant strings bound by one parameter, or
// nil when none repeats or the text's parameters cannot be renumbered
// safely (not PostgreSQL's $n, or a literal where a $n could hide).
func (p *pageStatement) bindOnce() *pageStatement {
	if p == nil {
		return nil
	}
	first := make([]int, len(p.args))  // the index of the argument bound in i's place
	number := make([]int, len(p.args)) // the 1-based parameter of argument i once bound once
	shared, n := false, 0
	for i, a := range p.args {
		first[i] = i
		if a.kind == argConstant && isString(a.constant) {
			for j := range i {
				if first[j] == j && p.args[j].kind == argConstant && p.args[j].constant == a.constant {
					first[i], shared = j, true
					break
				}
			}
		}
		if first[i] == i {
			n++
			number[i] = n
		} else {
			number[i] = number[first[i]]
		}
	}
	if !shared {
		return nil
	}
	text, ok := renumber(p.text, number)
	if !ok {
		return nil
	}
	once := &pageStatement{text: text, args: make([]pageArg, 0, n), whole: p}
	for i, a := range p.args {
		if first[i] == i {
			once.args = append(once.args, a)
		}
	}
	return once
}

// isString reports whether v is of a string kind (an id, a string): equal
// values are the same parameter's text. Times and numbers are left alone,
// since equal values of them may stand for different types.
func isString(v any) bool {
	return v != nil && reflect.TypeOf(v).Kind() == reflect.String
}

// renumber replaces each parameter $i of text by $number[i-1]. ok is false
// when text holds a quoted literal or a dollar-quoted string, where a $n is
// not a parameter, or a parameter out of range, or misses one.
func renumber(text string, number []int) (string, bool) {
	if strings.ContainsAny(text, "'`") || strings.Contains(text, "$$") {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(text))
	seen := make([]bool, len(number))
	inIdent := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '"':
			inIdent = !inIdent
		case c == '$' && !inIdent:
			j := i + 1
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			k, err := strconv.Atoi(text[i+1 : j])
			if err != nil || k < 1 || k > len(number) {
				return "", false
			}
			seen[k-1] = true
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(number[k-1]))
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	for _, s := range seen {
		if !s {
			return "", false
		}
	}
	return b.String(), !inIdent
}

// refused reports whether PostgreSQL refused the statement for what it says
// (SQLSTATE class 42: syntax error or access rule violation, which the
// same text always meets), not for a fault of the moment.
func refused(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && strings.HasPrefix(pe.SQLState(), "42")
}

// run runs the statement kept for key with a page's values and time; if
// PostgreSQL refuses the text that binds constants once, the statement as
// ent rendered it is kept instead, and run.
func (c *pageCache) run(key pageKey, s *pageStatement, values []any, now time.Time, query func(text string, args []any) ([]*ent.Customer, error)) ([]*ent.Customer, error) {
	nodes, err := query(s.text, s.argsFor(values, now))
	if err != nil && s.whole != nil && refused(err) {
		c.put(key, s.whole)
		return query(s.whole.text, s.whole.argsFor(values, now))
	}
	return nodes, err
}
