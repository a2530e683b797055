//! Source files and spans that name their file.

use serde::Serialize;

pub use corral_grammar::ast::Span;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FileId(pub u32);

/// A span in a known file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceSpan {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl SourceSpan {
    pub fn new(file: FileId, span: Span) -> Self {
        SourceSpan { file, start: span.start, end: span.end }
    }

    pub fn span(self) -> Span {
        Span { start: self.start, end: self.end }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SourceFile {
    /// How the file is shown to the user: a path as given, or `std/net.corral`.
    pub name: String,
    #[serde(skip)]
    pub text: String,
}

/// Every file read while compiling, by [`FileId`].
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile { name: name.into(), text: text.into() });
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.name.as_str())
    }

    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map_or("", |f| f.text.as_str())
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, id: FileId, offset: u32) -> (usize, usize) {
        let text = self.text(id);
        let offset = (offset as usize).min(text.len());
        let before = text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before
            .rfind('\n')
            .map_or(before.chars().count(), |nl| before.get(nl + 1..).map_or(0, |s| s.chars().count()))
            + 1;
        (line, col)
    }

    /// `file:line:col` of a span's start.
    pub fn location(&self, span: SourceSpan) -> String {
        let (line, col) = self.line_col(span.file, span.start);
        format!("{}:{line}:{col}", self.name(span.file))
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }
}
