package tracing

import "strings"

// maxStatementText bounds db.query.text: an IN list of a thousand
// placeholders says nothing more than its first few.
const maxStatementText = 4096

// Stmt is what a span tells of a statement.
type Stmt struct {
	// Text is the statement with every literal masked: a string ('…') or
	// a number becomes ?, so that a value written into the text (rather
	// than passed as a parameter) never reaches a span. Identifiers
	// ("units", `units`, t1) and placeholders ($1, ?) stay.
	Text string
	// Operation is the statement's first keyword, upper case (SELECT,
	// INSERT, WITH…).
	Operation string
	// Table is the table the statement reads from, inserts into, updates
	// or deletes from, when it names one at its top level.
	Table string
}

// Name is the span name: operation and table ("SELECT units"), as the
// database conventions of OpenTelemetry have it.
func (s Stmt) Name() string {
	if s.Table == "" {
		return s.Operation
	}
	return s.Operation + " " + s.Table
}

// Statement describes query for a span.
func Statement(query string) Stmt {
	text := mask(query)
	if len(text) > maxStatementText {
		text = text[:maxStatementText] + "…"
	}
	op, table := target(query)
	return Stmt{Text: text, Operation: op, Table: table}
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// mask replaces the string and number literals of query with ?. It
// returns query itself when there is nothing to mask.
func mask(query string) string {
	var b *strings.Builder
	last := 0 // query[last:i] is not yet copied to b
	cut := func(from, to int) {
		if b == nil {
			b = &strings.Builder{}
			b.Grow(len(query))
		}
		b.WriteString(query[last:from])
		b.WriteByte('?')
		last = to
	}
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'':
			from := i
			// E'…', PostgreSQL's escape string, where \' is a quote inside.
			escapes := from > 0 && (query[from-1] == 'E' || query[from-1] == 'e') && (from < 2 || !isIdent(query[from-2]))
			if escapes {
				from--
			}
			j := i + 1
			for j < len(query) {
				if escapes && query[j] == '\\' {
					j += 2
					continue
				}
				if query[j] == '\'' {
					if j+1 < len(query) && query[j+1] == '\'' { // '' is a quote inside
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(query)) // past the closing quote
			cut(from, j)
			i = j
		case c == '"' || c == '`': // a quoted identifier stays
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				j = len(query) - i - 2 // unclosed: the rest is the identifier
			}
			i += j + 2
		case c >= '0' && c <= '9' && (i == 0 || !isIdent(query[i-1])):
			j := i
			for j < len(query) && (query[j] >= '0' && query[j] <= '9' || query[j] == '.' || query[j] == 'e' || query[j] == 'E') {
				j++
			}
			cut(i, j)
			i = j
		case isIdent(c): // a word, with the digits in it (t1, $1)
			for i < len(query) && isIdent(query[i]) {
				i++
			}
		default:
			i++
		}
	}
	if b == nil {
		return query
	}
	b.WriteString(query[last:])
	return b.String()
}

// target returns the first keyword of query and the table it works on (a
// subquery's alias, as ent reads units through one that lapses holds).
func target(query string) (op, table string) {
	after := ""    // the keyword before the table
	found := false // the next word is the table
	alias := false // after a subquery in its place
	eachTopWord(query, func(w string) bool {
		switch {
		case op == "":
			op = strings.ToUpper(w)
			switch op {
			case "SELECT", "DELETE":
				after = "FROM"
			case "INSERT":
				after = "INTO"
			case "UPDATE":
				found = true // the table comes next
			default:
				return false
			}
			return true
		case found && w == "(": // FROM (SELECT …) AS name: the name
			alias = true
			found = false
		case found:
			table = unquote(w)
			return false
		case alias:
			if strings.EqualFold(w, "AS") {
				found = true
				return true
			}
			return false
		case strings.EqualFold(w, after):
			found = true
		}
		return true
	})
	return op, table
}

// eachTopWord calls f with each word of query outside parentheses and
// literals, until f returns false: keywords, identifiers (quoted ones with
// their quotes) and, for a parenthesis, "(".
func eachTopWord(query string, f func(string) bool) {
	depth := 0
	for i := 0; i < len(query); {
		c := query[i]
		word := ""
		switch {
		case c == '(':
			if depth == 0 {
				word = "("
			}
			depth++
			i++
		case c == ')':
			depth--
			i++
		case c == '\'':
			j := strings.IndexByte(query[i+1:], '\'')
			if j < 0 {
				return
			}
			i += j + 2
		case c == '"' || c == '`':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				return
			}
			if depth == 0 {
				word = query[i : i+j+2]
			}
			i += j + 2
		case isIdent(c):
			j := i
			for j < len(query) && (isIdent(query[j]) || query[j] == '.') {
				j++
			}
			if depth == 0 {
				word = query[i:j]
			}
			i = j
		default:
			i++
		}
		if word != "" && !f(word) {
			return
		}
	}
}

// unquote returns the name of a table word: "units" → units; a schema
// prefix stays (public.units); "(" (a subquery) is no table.
func unquote(w string) string {
	if w == "(" || w == "" {
		return ""
	}
	if w[0] == '"' || w[0] == '`' {
		return w[1 : len(w)-1]
	}
	return w
}
