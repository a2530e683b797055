//! The canonical formatter behind `corral fmt`.
//!
//! [`format_source`] parses a file and prints its syntax tree in one layout.
//! It never rewrites a file with syntax errors, and it only re-lays tokens
//! out: no parenthesis is added or dropped, so the printed file parses to
//! the same tree (spans aside). The only token it drops is the optional
//! trailing comma of a list written on one line.
//!
//! # Layout
//!
//! - Items and statements start on their own line; policy bodies are
//!   indented by 4 spaces, with `}` on its own line (`policy p {}` when the
//!   body holds neither statements nor comments).
//! - Blank lines between items: none between consecutive `import`s; between
//!   two consecutive `let`/`param` items that each fit on one line, one
//!   where the source had at least one and none otherwise; exactly one
//!   between any other two items.
//! - Blank lines between statements, and between comments on their own
//!   line: at most one, where the source had at least one. Never a blank
//!   line at the start of a file or body, nor before `}`.
//! - Single spaces around `|`, `-`, `&`, `and`, `or`, `implies` and after
//!   commas; none around `:` in endpoints, `..` in ranges and `.` in names.
//! - Strings are re-escaped: `\"`, `\\`, `\n`, `\t`, `\0`, and `\u{…}` (hex)
//!   for any other control character.
//! - A rule, `readonly`, `let` or `param` line wider than 100 columns whose
//!   last expression is a top-level `|`/`-` chain or a non-empty list is
//!   broken: a chain puts each further operand on its own line, indented 4
//!   more than the statement, led by its operator; a list puts one element
//!   per line with a trailing comma and `]` back at the statement's
//!   indentation. An `assert` line wider than 100 columns moves its
//!   `because "…"` to a continuation line, indented 4 more. Operands,
//!   elements and formulas themselves are never broken, and trailing
//!   comments do not count toward the width.
//!
//! # Comments
//!
//! Every comment is kept, exactly once, with trailing whitespace removed
//! (inside block comments too).
//! - A comment that starts on the line where an item or a statement ends
//!   stays there, after one space; so does one on the line of a policy's
//!   `{`, before its first statement.
//! - Any other comment goes on its own line, at the indentation of the item
//!   or statement that follows it; comments after a body's last statement go
//!   before its `}`, comments after the last item end the file.
//! - A comment inside an item or a statement (within an expression, or
//!   between `policy` and `{`) cannot stay there: it moves on its own line
//!   right before that item or statement — before the `///` doc comments that
//!   stand directly above it, so that they stay attached. A `///` comment
//!   that moves this way becomes a doc comment of what it now precedes.
//! - `///` comments are printed from their text, like the others, so they
//!   stay right above the item or statement they document. One written at
//!   the end of a line goes on its own line below it, right above what it
//!   documents.

use std::fmt::Write as _;

use crate::ast::{
    CmpOp, Comment, CommentKind, Effect, Expr, ExprKind, Formula, FormulaKind, IdentityKind, ImportSource,
    Item, ItemKind, Policy, Proto, QualName, Quantifier, SetOp, Span, Stmt, StmtKind, Target,
};

/// Lines wider than this are broken where the layout allows it.
const MAX_WIDTH: usize = 100;
const INDENT: usize = 4;

/// Formats a source file canonically. Returns None when the file has syntax
/// errors (the formatter never rewrites a file it cannot fully read).
#[must_use]
pub fn format_source(source: &str) -> Option<String> {
    let parsed = crate::parse(source);
    if !parsed.errors.is_empty() {
        return None;
    }
    let mut printer = Printer { source, out: String::new() };
    printer.module(&parsed.module.items, &parsed.module.comments)?;
    Some(printer.out)
}

/// An item or a statement, with the comments that belong around it.
struct Slot<'c> {
    span: Span,
    /// The source had a blank line before the slot's first line.
    sep: bool,
    /// Own-line comments before it, each with "a blank line before it in the
    /// source" (not used for the first one: that is `sep`).
    leading: Vec<(&'c Comment, bool)>,
    /// The source had a blank line between the last leading comment and it.
    child_blank: bool,
    /// Comments inside its span.
    inner: &'c [Comment],
    /// Comments after it on the line where it ends.
    trailing: &'c [Comment],
}

/// The children of a file or a policy body, and the comments after them.
struct Block<'c> {
    slots: Vec<Slot<'c>>,
    tail: Vec<(&'c Comment, bool)>,
}

/// How an item sits with its neighbours for blank lines.
#[derive(Clone, Copy, PartialEq)]
enum ItemClass {
    Import,
    /// A `let` or `param` that fits on one line.
    Binding,
    Other,
}

struct Printer<'s> {
    source: &'s str,
    out: String,
}

impl Printer<'_> {
    fn gap(&self, from: u32, to: u32) -> &str {
        self.source.get(from as usize..to as usize).unwrap_or("")
    }

    fn newline_between(&self, from: u32, to: u32) -> bool {
        self.gap(from, to).contains('\n')
    }

    /// Does `comment` stay at the end of the line that ends at `after`? A
    /// `///` comment never does: it documents what follows, so it goes
    /// right above that.
    fn trails(&self, after: u32, comment: &Comment) -> bool {
        comment.kind != CommentKind::Doc && !self.newline_between(after, comment.span.start)
    }

    fn blank_between(&self, from: u32, to: u32) -> bool {
        self.gap(from, to).matches('\n').nth(1).is_some()
    }

    /// Assigns each comment (sorted, all within the block) to a child or to
    /// the block's tail. `start` is where the block's content begins.
    fn plan<'c>(&self, spans: &[Span], comments: &'c [Comment], start: u32) -> Block<'c> {
        let mut slots: Vec<Slot<'c>> = Vec::with_capacity(spans.len());
        let mut i = 0;
        let mut prev_end = start;
        for &span in spans {
            if let Some(last) = slots.last_mut() {
                let from = i;
                while let Some(c) = comments.get(i) {
                    if c.span.start >= span.start || !self.trails(last.span.end, c) {
                        break;
                    }
                    prev_end = c.span.end;
                    i += 1;
                }
                last.trailing = comments.get(from..i).unwrap_or_default();
            }
            let mut leading = Vec::new();
            while let Some(c) = comments.get(i) {
                if c.span.end > span.start {
                    break;
                }
                leading.push((c, self.blank_between(prev_end, c.span.start)));
                prev_end = c.span.end;
                i += 1;
            }
            let child_blank = self.blank_between(prev_end, span.start);
            let sep = leading.first().map_or(child_blank, |l| l.1);
            let from = i;
            while comments.get(i).is_some_and(|c| c.span.start < span.end) {
                i += 1;
            }
            let inner = comments.get(from..i).unwrap_or_default();
            slots.push(Slot { span, sep, leading, child_blank, inner, trailing: &[] });
            prev_end = span.end;
        }
        if let Some(last) = slots.last_mut() {
            let from = i;
            while let Some(c) = comments.get(i) {
                if !self.trails(last.span.end, c) {
                    break;
                }
                prev_end = c.span.end;
                i += 1;
            }
            last.trailing = comments.get(from..i).unwrap_or_default();
        }
        let mut tail = Vec::new();
        for c in comments.get(i..).unwrap_or_default() {
            tail.push((c, self.blank_between(prev_end, c.span.start)));
            prev_end = c.span.end;
        }
        Block { slots, tail }
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Writes one line (or a block of lines whose continuation lines carry
    /// their own indentation).
    fn line(&mut self, indent: usize, text: &str) {
        self.out.extend(std::iter::repeat_n(' ', indent));
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// The comments before a child: `sep` decides the blank line before
    /// them; `moved` are the comments from inside the child.
    fn leading(&mut self, sep: bool, slot: &Slot<'_>, moved: &[Comment], indent: usize) {
        if sep {
            self.blank();
        }
        // `///` comments right above the child stay right above it.
        let docs_from =
            slot.leading.iter().rposition(|(c, _)| c.kind != CommentKind::Doc).map_or(0, |p| p + 1);
        let (before, docs) = slot.leading.split_at(docs_from);
        // A blank line before the first doc comment was the separator, which
        // now goes before the moved comments.
        let first_doc_blank = docs_from > 0 || moved.is_empty();
        let moved = moved.iter().map(|c| (c, false));
        let docs = docs.iter().enumerate().map(|(k, &(c, b))| (c, b && (k > 0 || first_doc_blank)));
        let all: Vec<(&Comment, bool)> = before.iter().copied().chain(moved).chain(docs).collect();
        for (k, (c, blank)) in all.iter().enumerate() {
            if k > 0 && *blank {
                self.blank();
            }
            self.line(indent, &comment_text(c));
        }
        // With no comment of its own before the child, `child_blank` is `sep`.
        if !slot.leading.is_empty() && slot.child_blank {
            self.blank();
        }
    }

    fn tail(&mut self, tail: &[(&Comment, bool)], after_child: bool, indent: usize) {
        for (k, (c, blank)) in tail.iter().enumerate() {
            if *blank && (k > 0 || after_child) {
                self.blank();
            }
            self.line(indent, &comment_text(c));
        }
    }

    fn module(&mut self, items: &[Item], comments: &[Comment]) -> Option<()> {
        let spans: Vec<Span> = items.iter().map(|i| i.span).collect();
        let block = self.plan(&spans, comments, 0);
        let mut prev: Option<ItemClass> = None;
        for (item, slot) in items.iter().zip(&block.slots) {
            let text = match &item.kind {
                ItemKind::Policy(_) => None,
                _ => Some(simple_item(item)?),
            };
            let class = match (&item.kind, &text) {
                (ItemKind::Import(_), _) => ItemClass::Import,
                (ItemKind::Let(_) | ItemKind::Param(_), Some(t)) if !t.contains('\n') => ItemClass::Binding,
                _ => ItemClass::Other,
            };
            let sep = match (prev, class) {
                (None, _) | (Some(ItemClass::Import), ItemClass::Import) => false,
                (Some(ItemClass::Binding), ItemClass::Binding) => slot.sep,
                _ => true,
            };
            prev = Some(class);
            match (&item.kind, text) {
                (ItemKind::Policy(policy), _) => self.policy(policy, slot, sep)?,
                (_, Some(text)) => {
                    self.leading(sep, slot, slot.inner, 0);
                    self.line(0, &with_trailing(text, slot.trailing));
                }
                (_, None) => return None,
            }
        }
        self.tail(&block.tail, !block.slots.is_empty(), 0);
        Some(())
    }

    fn policy(&mut self, policy: &Policy, slot: &Slot<'_>, sep: bool) -> Option<()> {
        let mut head = format!("policy {}", policy.name.name);
        if !policy.extends.is_empty() {
            let parents: Vec<String> = policy.extends.iter().map(QualName::dotted).collect();
            head.push_str(" extends ");
            head.push_str(&parents.join(", "));
        }
        let mut header_end = policy.name.span.end;
        if let Some(last) = policy.extends.last() {
            header_end = last.span.end;
        }
        if let Some(within) = &policy.within {
            head.push_str(" within ");
            head.push_str(&within.dotted());
            header_end = within.span.end;
        }
        head.push_str(" {");

        // Comments before `{` move before the policy; those on the line of
        // `{`, before the first statement, stay there; the rest belong to
        // the body.
        let brace = self.open_brace(header_end, slot.inner)?;
        let n_header = slot.inner.partition_point(|c| c.span.start < brace);
        let (header, rest) = slot.inner.split_at(n_header);
        let first_stmt = policy.body.first().map_or(u32::MAX, |s| s.span.start);
        let n_after =
            rest.iter().take_while(|c| c.span.start < first_stmt && self.trails(brace + 1, c)).count();
        let (after_brace, body) = rest.split_at(n_after);
        let body_start = after_brace.last().map_or(brace + 1, |c| c.span.end);

        self.leading(sep, slot, header, 0);
        let spans: Vec<Span> = policy.body.iter().map(|s| s.span).collect();
        let block = self.plan(&spans, body, body_start);
        if block.slots.is_empty() && block.tail.is_empty() && after_brace.is_empty() {
            head.push('}');
            self.line(0, &with_trailing(head, slot.trailing));
            return Some(());
        }
        self.line(0, &with_trailing(head, after_brace));
        for (k, (stmt, s)) in policy.body.iter().zip(&block.slots).enumerate() {
            self.leading(k > 0 && s.sep, s, s.inner, INDENT);
            let text = stmt_text(stmt, INDENT)?;
            self.line(INDENT, &with_trailing(text, s.trailing));
        }
        self.tail(&block.tail, !block.slots.is_empty(), INDENT);
        self.line(0, &with_trailing("}".to_owned(), slot.trailing));
        Some(())
    }

    /// The offset of the `{` that opens a policy body: the first byte after
    /// the header that is neither whitespace nor a comment.
    fn open_brace(&self, mut pos: u32, comments: &[Comment]) -> Option<u32> {
        let bytes = self.source.as_bytes();
        loop {
            match bytes.get(pos as usize)? {
                b'{' => return Some(pos),
                b if b.is_ascii_whitespace() => pos += 1,
                _ => pos = comments.iter().find(|c| c.span.start == pos)?.span.end,
            }
        }
    }
}

/// A comment as printed: trailing whitespace removed from each line.
fn comment_text(comment: &Comment) -> String {
    let lines: Vec<&str> = comment.text.lines().map(str::trim_end).collect();
    lines.join("\n")
}

fn with_trailing(mut text: String, trailing: &[Comment]) -> String {
    for c in trailing {
        text.push(' ');
        text.push_str(&comment_text(c));
    }
    text
}

fn simple_item(item: &Item) -> Option<String> {
    match &item.kind {
        ItemKind::Import(import) => {
            let mut s = "import ".to_owned();
            match &import.source {
                ImportSource::Module(name) => s.push_str(&name.dotted()),
                ImportSource::File(file) => quote(&mut s, &file.value),
            }
            if let Some(alias) = &import.alias {
                s.push_str(" as ");
                s.push_str(&alias.name);
            }
            Some(s)
        }
        ItemKind::Let(binding) => {
            let mut head = format!("let {}", binding.name.name);
            if let Some(ty) = &binding.ty {
                head.push_str(": ");
                head.push_str(&ty.name);
            }
            head.push_str(" = ");
            lay_out(head, Some(&binding.value), 0)
        }
        ItemKind::Param(param) => {
            let mut head = format!("param {}: {}", param.name.name, param.ty.name);
            if param.default.is_some() {
                head.push_str(" = ");
            }
            lay_out(head, param.default.as_ref(), 0)
        }
        ItemKind::Policy(_) | ItemKind::Error => None,
    }
}

/// A statement's text; continuation lines carry their indentation.
fn stmt_text(stmt: &Stmt, indent: usize) -> Option<String> {
    let mut head = String::new();
    let tail = match &stmt.kind {
        StmtKind::Rule { effect, target } => {
            head.push_str(match effect.node {
                Effect::Allow => "allow ",
                Effect::Deny => "deny ",
            });
            target_head(&mut head, target)?
        }
        StmtKind::Readonly(set) => {
            head.push_str("readonly ");
            Some(set)
        }
        StmtKind::Identity { kind, value } => {
            head.push_str(match kind.node {
                IdentityKind::Local => "identity local ",
                IdentityKind::Entra => "identity entra ",
            });
            quote(&mut head, &value.value);
            None
        }
        StmtKind::Isolation(tier) => {
            head.push_str("isolation ");
            head.push_str(&tier.name);
            None
        }
        StmtKind::Timeout(duration) => {
            head.push_str("timeout ");
            head.push_str(&duration.text);
            None
        }
        StmtKind::Proxy(url) => {
            head.push_str("proxy ");
            quote(&mut head, &url.value);
            None
        }
        StmtKind::AllowUnsafe { check, because } => {
            head.push_str("allow unsafe ");
            head.push_str(&check.name);
            head.push_str(" because ");
            quote(&mut head, &because.value);
            None
        }
        StmtKind::Assert(assert) => {
            head.push_str("assert ");
            if let Some(name) = &assert.name {
                head.push_str(&name.name);
                head.push_str(": ");
            }
            formula(&mut head, &assert.formula)?;
            if let Some(reason) = &assert.because {
                let mut because = "because ".to_owned();
                quote(&mut because, &reason.value);
                let width = indent + head.chars().count() + 1 + because.chars().count();
                if width > MAX_WIDTH {
                    head.push('\n');
                    head.push_str(&" ".repeat(indent + INDENT));
                } else {
                    head.push(' ');
                }
                head.push_str(&because);
            }
            None
        }
        StmtKind::Error => return None,
    };
    lay_out(head, tail, indent)
}

/// `head` followed by `tail`, on one line when it fits in [`MAX_WIDTH`].
fn lay_out(head: String, tail: Option<&Expr>, indent: usize) -> Option<String> {
    let Some(tail) = tail else { return Some(head) };
    let mut flat = head.clone();
    expr(&mut flat, tail)?;
    if indent + flat.chars().count() <= MAX_WIDTH {
        return Some(flat);
    }
    let inner = " ".repeat(indent + INDENT);
    let mut s = head;
    match &tail.kind {
        ExprKind::Chain { first, rest } if rest.first().is_some_and(|(op, _)| op.node != SetOp::Inter) => {
            expr(&mut s, first)?;
            for (op, operand) in rest {
                s.push('\n');
                s.push_str(&inner);
                s.push_str(op.node.symbol());
                s.push(' ');
                expr(&mut s, operand)?;
            }
        }
        ExprKind::List(elems) if !elems.is_empty() => {
            s.push('[');
            for elem in elems {
                s.push('\n');
                s.push_str(&inner);
                expr(&mut s, elem)?;
                s.push(',');
            }
            s.push('\n');
            s.push_str(&" ".repeat(indent));
            s.push(']');
        }
        _ => return Some(flat),
    }
    Some(s)
}

/// Writes the part of a target before its last expression, and returns that
/// expression (the one a long line may break).
fn target_head<'t>(out: &mut String, target: &'t Target) -> Option<Option<&'t Expr>> {
    match target {
        Target::Files { rights, set } => {
            let names: Vec<&str> = rights.iter().map(|r| r.node.keyword()).collect();
            out.push_str(&names.join(", "));
            out.push(' ');
            Some(Some(set))
        }
        Target::Connect { proto, set } => {
            out.push_str("connect ");
            write_proto(out, proto.as_ref().map(|p| p.node));
            Some(Some(set))
        }
        Target::Bind { proto, ports, from } => {
            out.push_str("bind ");
            write_proto(out, proto.as_ref().map(|p| p.node));
            match from {
                Some(hosts) => {
                    expr(out, ports)?;
                    out.push_str(" from ");
                    Some(Some(hosts))
                }
                None => Some(Some(ports)),
            }
        }
        Target::Device { device, mode } => {
            out.push_str(device.node.keyword());
            if let Some(mode) = mode {
                out.push(' ');
                out.push_str(&mode.name);
            }
            Some(None)
        }
    }
}

fn write_proto(out: &mut String, proto: Option<Proto>) {
    out.push_str(match proto {
        Some(Proto::Tcp) => "tcp ",
        Some(Proto::Udp) => "udp ",
        None => "",
    });
}

fn target(out: &mut String, target: &Target) -> Option<()> {
    if let Some(last) = target_head(out, target)? {
        expr(out, last)?;
    }
    Some(())
}

fn formula(out: &mut String, f: &Formula) -> Option<()> {
    match &f.kind {
        FormulaKind::Access { quantifier, target: t } => {
            out.push_str(match quantifier.node {
                Quantifier::Can => "can ",
                Quantifier::Never => "never ",
                Quantifier::Only => "only ",
            });
            target(out, t)?;
        }
        FormulaKind::Isolation { op, tier } => {
            out.push_str(match op.node {
                CmpOp::Ge => "isolation >= ",
                CmpOp::Le => "isolation <= ",
                CmpOp::Eq => "isolation == ",
            });
            out.push_str(&tier.name);
        }
        FormulaKind::Not(inner) => {
            out.push_str("not ");
            formula(out, inner)?;
        }
        FormulaKind::And(parts) => joined(out, parts, " and ")?,
        FormulaKind::Or(parts) => joined(out, parts, " or ")?,
        FormulaKind::Implies(parts) => joined(out, parts, " implies ")?,
        FormulaKind::Paren(inner) => {
            out.push('(');
            formula(out, inner)?;
            out.push(')');
        }
        FormulaKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FormulaKind::Error => return None,
    }
    Some(())
}

fn joined(out: &mut String, parts: &[Formula], keyword: &str) -> Option<()> {
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            out.push_str(keyword);
        }
        formula(out, part)?;
    }
    Some(())
}

fn expr(out: &mut String, e: &Expr) -> Option<()> {
    match &e.kind {
        ExprKind::Str(s) => quote(out, s),
        ExprKind::Int(n) => write!(out, "{n}").ok()?,
        ExprKind::Range(a, b) => write!(out, "{a}..{b}").ok()?,
        ExprKind::Wildcard => out.push('*'),
        ExprKind::Name(name) => out.push_str(&name.dotted()),
        ExprKind::List(elems) => {
            out.push('[');
            for (k, elem) in elems.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                expr(out, elem)?;
            }
            out.push(']');
        }
        ExprKind::Paren(inner) => {
            out.push('(');
            expr(out, inner)?;
            out.push(')');
        }
        ExprKind::Under(inner) => {
            out.push_str("under ");
            expr(out, inner)?;
        }
        ExprKind::Endpoint(hosts, ports) => {
            expr(out, hosts)?;
            out.push(':');
            expr(out, ports)?;
        }
        ExprKind::Chain { first, rest } => {
            expr(out, first)?;
            for (op, operand) in rest {
                out.push(' ');
                out.push_str(op.node.symbol());
                out.push(' ');
                expr(out, operand)?;
            }
        }
        ExprKind::Error => return None,
    }
    Some(())
}

/// Writes a string literal that the lexer reads back as `value`.
fn quote(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
