//! Source files and byte spans, and the mapping from a byte offset to `line:column`.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(u32);

/// A byte range inside one source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file the range points into.
    pub file: FileId,
    /// Byte offsets into the file's text; always on `char` boundaries.
    pub range: Range<usize>,
}

impl Span {
    /// A span covering `range` in `file`.
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        Span { file, range }
    }
}

/// A value together with the place in a file where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// One loaded file: the name it is shown under, and its text.
#[derive(Debug, Default)]
pub struct SourceFile {
    name: String,
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// The name diagnostics show (for example `config/requests.json`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the file was read from (empty for in-memory sources).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (counted in characters, as rustc does) of a byte offset.
    /// Offsets past the end are clamped to the end of the text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let line_start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |prefix| prefix.chars().count());
        (line + 1, column + 1)
    }
}

/// All files of one app, so that a [`Span`] can be turned into `file:line:col` and a snippet.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    /// Stands in for an id from another map, so a mix-up shows an empty file instead of panicking.
    missing: SourceFile,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id. `name` is what diagnostics print.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        path: impl Into<PathBuf>,
        text: String,
    ) -> FileId {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            name: name.into(),
            path: path.into(),
            text,
            line_starts,
        });
        id
    }

    /// The file behind an id. Ids come only from [`SourceMap::add`] on this map.
    pub fn file(&self, id: FileId) -> &SourceFile {
        self.files.get(id.0 as usize).unwrap_or(&self.missing)
    }

    /// `name:line:col` of the start of a span.
    pub fn location(&self, span: &Span) -> String {
        let file = self.file(span.file);
        let (line, col) = file.line_col(span.range.start);
        format!("{}:{line}:{col}", file.name)
    }

    /// The source text a span covers (empty if the span is out of range).
    pub fn snippet(&self, span: &Span) -> &str {
        self.file(span.file)
            .text
            .get(span.range.clone())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let mut map = SourceMap::new();
        let id = map.add("a.json", "", "{\n  \"é\": 1\n}".to_string());
        let file = map.file(id);
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(2), (2, 1));
        // `1` comes after `  "é": ` which is 7 characters but 8 bytes.
        let one = file.text().find('1').unwrap_or(0);
        assert_eq!(file.line_col(one), (2, 8));
        assert_eq!(file.line_col(10_000), (3, 2));
        assert_eq!(map.location(&Span::new(id, one..one + 1)), "a.json:2:8");
    }
}
