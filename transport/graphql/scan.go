package gql

// scan is a linear pass over a query document that runs before graphql-go's
// parser sees it. It tokenises the document by the GraphQL specification's
// lexical grammar and follows just enough of the syntactic grammar to know
// where a value is expected, so that it can:
//
//   - find the `null` literals, which graphql-go v0.8.1's parser refuses (see
//     parseDocument and docs/adr/0012-graphql-null-literals.md);
//   - measure the document: its tokens and its deepest nesting of braces,
//     brackets and parentheses, so that limits can refuse a document before
//     graphql-go's parser and validator, which grow faster than linearly with
//     nesting, spend time on it.
//
// scan never fails: at a character it cannot tokenise it stops and reports
// what it saw until then, and graphql-go's parser reports the syntax error.
// Its result is only as precise as the document is valid, which is enough: a
// misplaced null in an invalid document only changes which syntax error is
// reported.

// scanResult is what scan found in a document.
type scanResult struct {
	// nulls are the byte offsets of the `null` literals in value positions.
	nulls []int
	// tokens counts the document's tokens (punctuators, names, numbers and
	// strings; not whitespace, commas or comments).
	tokens int
	// depth is the deepest nesting of {, [ and ( reached.
	depth int
	// fields, aliases, arguments and directives count the fields, the
	// aliased fields, the arguments (of fields and directives) and the
	// directives written; variables the variable definitions; definitions
	// the operations and fragments.
	fields, aliases, arguments, directives, variables, definitions int
	// complete reports whether the whole document was tokenised; false when
	// the scan stopped at an invalid character or unterminated string.
	complete bool
}

// scanContext is what an open bracket means; it decides where values go.
type scanContext uint8

const (
	ctxSelection scanContext = iota // { of a selection set
	ctxArguments                    // ( of field or directive arguments
	ctxVariables                    // ( of variable definitions
	ctxListValue                    // [ of a list value
	ctxObjectVal                    // { of an object value
	ctxListType                     // [ of a list type
)

// token kinds of the scanner.
type tokenKind uint8

const (
	tokPunct tokenKind = iota + 1
	tokName
	tokNumber
	tokString
)

// scanDocument scans body; it stops early, with complete false, once it has
// counted more than maxTokens tokens or nested deeper than maxDepth (either
// limit ≤ 0 is off), so that its own cost is bounded by the limits too.
func scanDocument(body string, maxTokens, maxDepth int) scanResult {
	var (
		res   scanResult
		stack []scanContext
		// expectValue: the next token starts a value (after ':' in
		// arguments or object values, after '=' in variable definitions).
		expectValue bool
		// afterDollar: the next name is a variable's name, not a value.
		afterDollar bool
		// prev and prevPrev are the texts of the last two punctuators or
		// names, and prevKind the kind of the last token: enough to tell
		// directive arguments from variable definitions at the top level.
		prev, prevPrev string
		prevKind       tokenKind
	)
	top := func() (scanContext, bool) {
		if len(stack) == 0 {
			return 0, false
		}
		return stack[len(stack)-1], true
	}
	// inValue reports whether a token here is (part of) a value.
	inValue := func() bool {
		if expectValue {
			return true
		}
		c, ok := top()
		return ok && c == ctxListValue
	}
	push := func(c scanContext) bool {
		stack = append(stack, c)
		res.depth = max(res.depth, len(stack))
		return maxDepth <= 0 || len(stack) <= maxDepth
	}
	pop := func() {
		if len(stack) > 0 {
			stack = stack[:len(stack)-1]
		}
		// A closed list or object is a whole value: whatever follows is
		// the next argument or field name, or the next list item.
		expectValue = false
	}

	i := 0
	n := len(body)
	for {
		// Skip ignored tokens: whitespace, line terminators, commas,
		// comments and the byte order mark.
		for i < n {
			c := body[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' {
				i++
				continue
			}
			if c == '#' {
				for i < n && body[i] != '\n' && body[i] != '\r' {
					i++
				}
				continue
			}
			if c == 0xEF && i+2 < n && body[i+1] == 0xBB && body[i+2] == 0xBF {
				i += 3
				continue
			}
			break
		}
		if i >= n {
			res.complete = true
			return res
		}
		res.tokens++
		if maxTokens > 0 && res.tokens > maxTokens {
			return res
		}
		start := i
		c := body[i]
		var kind tokenKind
		var text string
		switch {
		case c == '.':
			if i+2 < n && body[i+1] == '.' && body[i+2] == '.' {
				i += 3
				kind, text = tokPunct, "..."
			} else {
				return res
			}
		case c == '!' || c == '$' || c == '&' || c == '(' || c == ')' || c == ':' || c == '=' ||
			c == '@' || c == '[' || c == ']' || c == '{' || c == '|' || c == '}':
			i++
			kind, text = tokPunct, body[start:i]
		case isNameStart(c):
			for i < n && isNameContinue(body[i]) {
				i++
			}
			kind, text = tokName, body[start:i]
		case c == '-' || c >= '0' && c <= '9':
			i++
			for i < n && (isNameContinue(body[i]) || body[i] == '.' || body[i] == '+' || body[i] == '-') {
				// Lenient: the parser checks the number's form; the scanner
				// only needs its end.
				if (body[i] == '+' || body[i] == '-') && body[i-1] != 'e' && body[i-1] != 'E' {
					break
				}
				i++
			}
			kind = tokNumber
		case c == '"':
			end, ok := stringEnd(body, i)
			if !ok {
				return res
			}
			i = end
			kind = tokString
		default:
			return res
		}

		ctx, inCtx := top()
		wasDollar := afterDollar
		afterDollar = false
		switch kind {
		case tokPunct:
			switch text {
			case "{":
				next := ctxSelection
				if inValue() {
					next, expectValue = ctxObjectVal, false
				} else if !inCtx {
					res.definitions++ // each operation or fragment has one top-level selection set
				}
				if !push(next) {
					return res
				}
			case "[":
				next := ctxListType // a list type in variable definitions
				if inValue() {
					next, expectValue = ctxListValue, false
				}
				if !push(next) {
					return res
				}
			case "(":
				// At the top level, parentheses after an operation's name
				// or keyword hold variable definitions; after a directive's
				// name, and anywhere inside brackets, they hold arguments.
				next := ctxArguments
				if !inCtx && !(prevKind == tokName && prevPrev == "@") {
					next = ctxVariables
				}
				if !push(next) {
					return res
				}
			case "}", "]", ")":
				pop()
			case ":":
				switch {
				case inCtx && ctx == ctxArguments:
					res.arguments++
					expectValue = true
				case inCtx && ctx == ctxObjectVal:
					expectValue = true
				case inCtx && ctx == ctxSelection && prevKind == tokName:
					res.aliases++
				}
			case "@":
				res.directives++
			case "=":
				if inCtx && ctx == ctxVariables {
					expectValue = true
				}
			case "$":
				afterDollar = true
				if inCtx && ctx == ctxVariables && !expectValue {
					res.variables++
				}
			}
		case tokName:
			switch {
			case wasDollar:
				expectValue = false // a variable is a whole value
			case inCtx && ctx == ctxSelection:
				// A field's name or alias, unless it follows "..." (a
				// fragment's name, or "on"), "on" after "..." (a type
				// condition), ":" (the field after its alias, already
				// counted) or "@" (a directive's name).
				afterSpread := prev == "..." || prev == "on" && prevPrev == "..."
				if !afterSpread && prev != ":" && prev != "@" {
					res.fields++
				}
			case inValue():
				if text == "null" {
					res.nulls = append(res.nulls, start)
				}
				expectValue = false
			}
		default: // numbers and strings are whole values
			expectValue = false
		}
		prevPrev, prev, prevKind = prev, text, kind
	}
}

// stringEnd returns the offset just past the string or block string that
// starts at body[i] (a quote), and false when it is not terminated.
func stringEnd(body string, i int) (int, bool) {
	n := len(body)
	if i+2 < n && body[i+1] == '"' && body[i+2] == '"' {
		for j := i + 3; j+2 < n; j++ {
			if body[j] == '\\' && j+3 < n && body[j+1] == '"' && body[j+2] == '"' && body[j+3] == '"' {
				j += 3 // an escaped triple quote
				continue
			}
			if body[j] == '"' && body[j+1] == '"' && body[j+2] == '"' {
				return j + 3, true
			}
		}
		return 0, false
	}
	if i+1 < n && body[i+1] == '"' {
		return i + 2, true // the empty string ""
	}
	for j := i + 1; j < n; j++ {
		switch body[j] {
		case '\\':
			j++ // skip the escaped character
		case '"':
			return j + 1, true
		case '\n', '\r':
			return 0, false
		}
	}
	return 0, false
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameContinue(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9'
}
