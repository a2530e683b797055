//! Positions: LSP counts lines from 0 and characters in UTF-16 code units
//! (the protocol's default encoding); Corral's spans are byte offsets.

use lsp_types::{Position, Range};

/// The line starts of one text, for converting between byte offsets and
/// LSP positions.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The position of byte `offset` (clamped to the text, and back to a
    /// character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character = text.get(start..offset).map_or(0, |s| s.encode_utf16().count());
        Position { line: to_u32(line), character: to_u32(character) }
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range { start: self.position(text, start), end: self.position(text, end) }
    }

    /// The byte offset of `position`; a position past the end of its line
    /// is the end of the line, past the last line the end of the text.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return text.len();
        };
        let line_end = self.starts.get(position.line as usize + 1).map_or(text.len(), |&s| s - 1);
        let line = text.get(start..line_end).unwrap_or("");
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        line_end
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::LineIndex;
    use lsp_types::Position;

    #[test]
    fn positions_count_utf16_units_and_round_trip() {
        let text = "ab\n// é😀x\nlast";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap();
        // `// ` is 3 units, `é` 1, `😀` 2 (a surrogate pair).
        assert_eq!(index.position(text, x), Position { line: 1, character: 6 });
        assert_eq!(index.offset(text, Position { line: 1, character: 6 }), x);
        assert_eq!(index.offset(text, Position { line: 2, character: 99 }), text.len());
        assert_eq!(index.offset(text, Position { line: 9, character: 0 }), text.len());
        assert_eq!(index.position(text, text.len()), Position { line: 2, character: 4 });
    }
}
