//! A hand-written parser for `<%= … %>` placeholders; every error carries its span in the file.

use std::ops::Range;

use super::{Expr, Literal, Part, Path, Placeholder, TemplateString, Term};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::json::JsonString;
use crate::source::Spanned;

const OPEN: &str = "<%=";
const CLOSE: &str = "%>";

/// Splits a JSON string value into text and placeholders. Malformed placeholders are reported
/// in `diagnostics` and left out of the result; the rest of the string is still parsed, so one
/// run reports every mistake.
pub fn parse_template(string: &JsonString, diagnostics: &mut Diagnostics) -> TemplateString {
    let text = string.as_str();
    let offsets = string.offsets();
    let mut parts = Vec::new();
    let mut pending = String::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("<%") {
            let close = rest.find(CLOSE);
            let end = close.map_or(text.len(), |c| i + c + CLOSE.len());
            if rest.starts_with(OPEN) {
                match close {
                    Some(close) => {
                        let inner = i + OPEN.len()..i + close;
                        match parse_expr(string, inner) {
                            Ok(expr) => {
                                flush(&mut parts, &mut pending);
                                parts.push(Part::Placeholder(Placeholder {
                                    expr,
                                    span: offsets.span(i..end),
                                }));
                            }
                            Err(diagnostic) => diagnostics.push(diagnostic),
                        }
                    }
                    None => diagnostics.push(
                        Diagnostic::error(offsets.span(i..end), "unterminated placeholder")
                            .with_label("this `<%=` has no closing `%>`")
                            .with_help(
                                "close the placeholder with `%>`, as in `<%= context.id %>`",
                            ),
                    ),
                }
            } else {
                diagnostics.push(unsupported_tag(string, i..end));
            }
            i = end;
        } else if let Some(end) = foreign_placeholder_end(rest) {
            diagnostics.push(foreign_placeholder(string, i..i + end));
            i += end;
        } else {
            let ch_len = rest.chars().next().map_or(1, char::len_utf8);
            pending.push_str(&rest[..ch_len]);
            i += ch_len;
        }
    }
    flush(&mut parts, &mut pending);
    TemplateString {
        parts,
        span: offsets.span(0..text.len()),
    }
}

fn flush(parts: &mut Vec<Part>, pending: &mut String) {
    if !pending.is_empty() {
        parts.push(Part::Text(std::mem::take(pending)));
    }
}

fn unsupported_tag(string: &JsonString, range: Range<usize>) -> Diagnostic {
    let tag = &string.as_str()[range.clone()];
    let span = string.offsets().span(range);
    if tag.starts_with("<%-") {
        Diagnostic::error(span, "`<%- … %>` placeholders are not supported").with_help(
            "use `<%= … %>`: values are encoded for where they land (path, query, header)",
        )
    } else {
        Diagnostic::error(span, "code blocks `<% … %>` are not supported in templates")
            .with_help("only `<%= expression %>` placeholders are; compute the value in your code and pass it as `context.…`")
    }
}

/// The end (exclusive, relative to `rest`) of a `{{…}}` or `${…}` at the start of `rest`.
fn foreign_placeholder_end(rest: &str) -> Option<usize> {
    let (open, close) = if rest.starts_with("{{") {
        ("{{", "}}")
    } else if rest.starts_with("${") {
        ("${", "}")
    } else {
        return None;
    };
    rest[open.len()..]
        .find(close)
        .map(|c| open.len() + c + close.len())
}

fn foreign_placeholder(string: &JsonString, range: Range<usize>) -> Diagnostic {
    let tag = &string.as_str()[range.clone()];
    let inner = tag
        .trim_start_matches(['{', '$'])
        .trim_end_matches('}')
        .trim();
    let syntax = if tag.starts_with("${") {
        "`${…}`"
    } else {
        "`{{…}}`"
    };
    let suggestion = if !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._$".contains(c))
    {
        let path = if inner.contains('.') {
            inner.to_string()
        } else {
            format!("context.{inner}")
        };
        format!("write `<%= {path} %>`")
    } else {
        "write the value as a `<%= … %>` placeholder".to_string()
    };
    Diagnostic::error(
        string.offsets().span(range),
        format!("{syntax} is not a placeholder in FDK templates"),
    )
    .with_label("this text would be sent as is")
    .with_help(suggestion)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Dot,
    Plus,
    OrOr,
    LParen,
    RParen,
    Str(String),
    Num(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("`{name}`"),
            Token::Dot => "`.`".into(),
            Token::Plus => "`+`".into(),
            Token::OrOr => "`||`".into(),
            Token::LParen => "`(`".into(),
            Token::RParen => "`)`".into(),
            Token::Str(_) => "a string".into(),
            Token::Num(_) => "a number".into(),
        }
    }
}

struct Parser<'a> {
    string: &'a JsonString,
    tokens: Vec<(Token, Range<usize>)>,
    position: usize,
    /// The placeholder's inner range, for "expected … here" at the end.
    inner: Range<usize>,
}

type Result<T> = std::result::Result<T, Diagnostic>;

fn parse_expr(string: &JsonString, inner: Range<usize>) -> Result<Expr> {
    let tokens = tokenize(string, inner.clone())?;
    let mut parser = Parser {
        string,
        tokens,
        position: 0,
        inner,
    };
    if parser.tokens.is_empty() {
        let start = parser.inner.start - OPEN.len();
        let end = parser.inner.end + CLOSE.len();
        return Err(
            Diagnostic::error(string.offsets().span(start..end), "empty placeholder").with_help(
                "name a value, as in `<%= context.ticket_id %>`, or remove the placeholder",
            ),
        );
    }
    let terms = parser.concat()?;
    let default = if parser.eat(&Token::OrOr) {
        Some(parser.default_literal()?)
    } else {
        None
    };
    if let Some((token, range)) = parser.peek().cloned() {
        let help = match token {
            Token::OrOr => "only one `||` default is allowed",
            _ => {
                "a placeholder holds one expression: names, literals and `encode(…)` joined with `+`, then an optional `|| default`"
            }
        };
        return Err(parser
            .error(
                range,
                format!("unexpected {} in placeholder", token.describe()),
            )
            .with_help(help));
    }
    Ok(Expr { terms, default })
}

impl Parser<'_> {
    fn peek(&self) -> Option<&(Token, Range<usize>)> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<(Token, Range<usize>)> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn eat(&mut self, expected: &Token) -> bool {
        if self.peek().is_some_and(|(t, _)| t == expected) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, range: Range<usize>, message: String) -> Diagnostic {
        Diagnostic::error(self.string.offsets().span(range), message)
    }

    fn end_range(&self) -> Range<usize> {
        self.inner.end..self.inner.end + CLOSE.len()
    }

    fn concat(&mut self) -> Result<Vec<Term>> {
        let mut terms = vec![self.term()?];
        while self.eat(&Token::Plus) {
            terms.push(self.term()?);
        }
        Ok(terms)
    }

    fn term(&mut self) -> Result<Term> {
        match self.next() {
            Some((Token::Ident(name), range)) => {
                if self.peek().is_some_and(|(t, _)| *t == Token::LParen) {
                    return self.call(name, range);
                }
                self.path(name, range)
            }
            Some((Token::Str(s), range)) => Ok(Term::Literal(Spanned::new(
                Literal::String(s),
                self.string.offsets().span(range),
            ))),
            Some((Token::Num(n), range)) => Ok(Term::Literal(Spanned::new(
                Literal::Number(n),
                self.string.offsets().span(range),
            ))),
            Some((token, range)) => Err(self
                .error(range, format!("expected a value, found {}", token.describe()))
                .with_help("a value is a name such as `context.id`, a literal such as `'text'`, or `encode(…)`")),
            None => Err(self
                .error(self.end_range(), "expected a value before `%>`".into())
                .with_help("a value is a name such as `context.id`, a literal such as `'text'`, or `encode(…)`")),
        }
    }

    fn call(&mut self, name: String, name_range: Range<usize>) -> Result<Term> {
        if name != "encode" {
            return Err(self
                .error(name_range, format!("unknown function `{name}`"))
                .with_help("the only function templates support is `encode(…)` (Base64)"));
        }
        self.position += 1; // the `(` seen by the caller
        let terms = self.concat()?;
        match self.next() {
            Some((Token::RParen, close)) => Ok(Term::Encode {
                terms,
                span: self.string.offsets().span(name_range.start..close.end),
            }),
            Some((token, range)) => Err(self
                .error(
                    range,
                    format!("expected `)` or `+`, found {}", token.describe()),
                )
                .with_help("close `encode(` with `)`")),
            None => Err(self
                .error(self.end_range(), "expected `)` before `%>`".into())
                .with_help("close `encode(` with `)`")),
        }
    }

    fn path(&mut self, root: String, root_range: Range<usize>) -> Result<Term> {
        let offsets = self.string.offsets();
        let mut segments = vec![Spanned::new(root, offsets.span(root_range.clone()))];
        let mut end = root_range.end;
        while self.eat(&Token::Dot) {
            match self.next() {
                Some((Token::Ident(field), range)) => {
                    end = range.end;
                    segments.push(Spanned::new(field, offsets.span(range)));
                }
                Some((token, range)) => {
                    return Err(self.error(
                        range,
                        format!(
                            "expected a field name after `.`, found {}",
                            token.describe()
                        ),
                    ));
                }
                None => {
                    return Err(
                        self.error(self.end_range(), "expected a field name after `.`".into())
                    );
                }
            }
        }
        Ok(Term::Path(Path {
            segments,
            span: offsets.span(root_range.start..end),
        }))
    }

    fn default_literal(&mut self) -> Result<Spanned<Literal>> {
        let help = "a default is a literal, as in `<%= context.page || '1' %>`";
        match self.next() {
            Some((Token::Str(s), range)) => Ok(Spanned::new(
                Literal::String(s),
                self.string.offsets().span(range),
            )),
            Some((Token::Num(n), range)) => Ok(Spanned::new(
                Literal::Number(n),
                self.string.offsets().span(range),
            )),
            Some((token, range)) => Err(self
                .error(
                    range,
                    format!(
                        "the default after `||` must be a literal, found {}",
                        token.describe()
                    ),
                )
                .with_help(help)),
            None => Err(self
                .error(
                    self.end_range(),
                    "expected a default value after `||`".into(),
                )
                .with_help(help)),
        }
    }
}

fn tokenize(string: &JsonString, inner: Range<usize>) -> Result<Vec<(Token, Range<usize>)>> {
    let text = string.as_str();
    let mut tokens = Vec::new();
    let mut i = inner.start;
    let error = |range: Range<usize>, message: String| {
        Diagnostic::error(string.offsets().span(range), message)
    };
    while i < inner.end {
        let rest = &text[i..inner.end];
        let Some(c) = rest.chars().next() else { break };
        let start = i;
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let token = match c {
            '.' => {
                i += 1;
                Token::Dot
            }
            '+' => {
                i += 1;
                Token::Plus
            }
            '(' => {
                i += 1;
                Token::LParen
            }
            ')' => {
                i += 1;
                Token::RParen
            }
            '|' if rest.starts_with("||") => {
                i += 2;
                Token::OrOr
            }
            '\'' | '"' => {
                let (value, len) = string_literal(rest).ok_or_else(|| {
                    error(start..inner.end, "unterminated string literal".into())
                        .with_help(format!("close the string with {c}"))
                })?;
                i += len;
                Token::Str(value)
            }
            c if c.is_ascii_digit()
                || (c == '-' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) =>
            {
                let len = number_len(rest);
                i += len;
                Token::Num(rest[..len].to_string())
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let len = rest
                    .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '$'))
                    .unwrap_or(rest.len());
                i += len;
                Token::Ident(rest[..len].to_string())
            }
            other => {
                let message = match other {
                    '|' => {
                        "`|` is not an operator here: a default is written `|| 'value'`".to_string()
                    }
                    _ => format!("unexpected character `{other}` in placeholder"),
                };
                return Err(error(start..start + other.len_utf8(), message).with_help(
                    "a placeholder holds names, literals and `encode(…)` joined with `+`, and an optional `|| default`",
                ));
            }
        };
        tokens.push((token, start..i));
    }
    Ok(tokens)
}

/// A quoted literal at the start of `rest`: its value and its length including quotes.
fn string_literal(rest: &str) -> Option<(String, usize)> {
    let mut chars = rest.char_indices();
    let (_, quote) = chars.next()?;
    let mut value = String::new();
    let mut escaped = false;
    for (index, c) in chars {
        if escaped {
            value.push(match c {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            });
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some((value, index + 1));
        } else {
            value.push(c);
        }
    }
    None
}

fn number_len(rest: &str) -> usize {
    let bytes = rest.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    i
}
