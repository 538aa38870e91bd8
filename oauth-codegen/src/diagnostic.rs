//! Diagnostics: what went wrong, where, and how to fix it; collected, never thrown.

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::source::{SourceMap, Span};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The config cannot be used as written.
    Error,
    /// The config works, but probably not as its author meant.
    Warning,
}

/// One finding about a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line, lower case, no full stop (rustc style).
    pub message: String,
    /// Where it is; `None` only for findings about a file as a whole that has no text.
    pub span: Option<Span>,
    /// A short label printed under the caret.
    pub label: Option<String>,
    /// Other places that explain this one (for example the first definition of a duplicate).
    pub related: Vec<(Span, String)>,
    /// How to fix it, when we can say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, Some(span), message.into())
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, Some(span), message.into())
    }

    /// An error about something that has no place in any file (a file that cannot be read).
    pub fn unlocated_error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, None, message.into())
    }

    fn new(severity: Severity, span: Option<Span>, message: String) -> Self {
        Diagnostic {
            severity,
            message,
            span,
            label: None,
            related: Vec::new(),
            help: None,
        }
    }

    /// Adds the label printed under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a help line if there is one.
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help.or(self.help);
        self
    }

    /// Points at another place that explains this diagnostic.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` of the diagnostic, if it has a place.
    pub fn location(&self, sources: &SourceMap) -> Option<String> {
        self.span.as_ref().map(|span| sources.location(span))
    }
}

/// The diagnostics of one run, in the order they were found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No diagnostics yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Whether any recorded diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// Sorts by file and position (errors before warnings at the same place), for stable output.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.span
                    .as_ref()
                    .map(|s| (s.file, s.range.start, s.range.end))
            };
            key(a).cmp(&key(b)).then(a.severity.cmp(&b.severity))
        });
    }

    /// Renders every diagnostic rustc-style, followed by a summary line.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let mut out = String::new();
        for diagnostic in &self.items {
            out.push_str(&render(diagnostic, sources, color));
            out.push_str("\n\n");
        }
        let (errors, warnings) = (self.error_count(), self.warning_count());
        if errors > 0 || warnings > 0 {
            let _ = write!(out, "{}", summary(errors, warnings));
        }
        out
    }
}

impl std::ops::Deref for Diagnostics {
    type Target = [Diagnostic];
    fn deref(&self) -> &[Diagnostic] {
        &self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.items.extend(iter);
    }
}

fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => format!("warning: the configuration has {}", plural(w, "warning")),
        (e, 0) => format!("error: the configuration has {}", plural(e, "error")),
        (e, w) => format!(
            "error: the configuration has {} and {}",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

/// Renders one diagnostic like rustc: `error: …`, ` --> file:line:col`, the line, a caret, `help: …`.
pub fn render(diagnostic: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut group = Group::with_title(level.primary_title(diagnostic.message.as_str()));
    let mut spans: Vec<(&Span, Option<&str>, bool)> = Vec::new();
    if let Some(span) = &diagnostic.span {
        spans.push((span, diagnostic.label.as_deref(), true));
    }
    spans.extend(
        diagnostic
            .related
            .iter()
            .map(|(s, l)| (s, Some(l.as_str()), false)),
    );
    // One snippet per file, primary file first, so related spans in other files get their own `-->`.
    let mut files = Vec::new();
    for (span, _, _) in &spans {
        if !files.contains(&span.file) {
            files.push(span.file);
        }
    }
    for file_id in files {
        let file = sources.file(file_id);
        let mut snippet = Snippet::source(file.text()).path(file.name()).fold(true);
        for (span, label, primary) in spans.iter().filter(|(s, _, _)| s.file == file_id) {
            let kind = if *primary {
                AnnotationKind::Primary
            } else {
                AnnotationKind::Context
            };
            let range = clamp(span, file.text());
            snippet = snippet.annotation(match label {
                Some(label) => kind.span(range).label(*label),
                None => kind.span(range),
            });
        }
        group = group.element(snippet);
    }
    let mut report = vec![group];
    if let Some(help) = &diagnostic.help {
        report.push(Group::with_title(
            Level::HELP.secondary_title(help.as_str()),
        ));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&report)
}

fn clamp(span: &Span, text: &str) -> std::ops::Range<usize> {
    let end = span.range.end.min(text.len());
    span.range.start.min(end)..end
}
