//! Lexer for nats-server's config syntax: a state-for-state port of `conf/lex.go`, so that
//! items, error texts and (quirky) line/column positions come out exactly as nats-server's.
//!
//! Positions follow the Go lexer: columns are byte offsets, 0-based on the first line and
//! effectively 1-based on later ones (the line start is the offset of the `\n` itself).

use std::collections::VecDeque;

mod scalars;
mod structure;

/// What the lexer read (`itemType` in lex.go; `itemNIL` is never produced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemType {
    Error,
    Eof,
    Key,
    Text,
    String,
    Bool,
    Integer,
    Float,
    Datetime,
    ArrayStart,
    ArrayEnd,
    MapStart,
    MapEnd,
    CommentStart,
    Variable,
    Include,
}

/// One lexed item with the line and column lex.go would give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub typ: ItemType,
    pub val: String,
    pub line: usize,
    pub pos: usize,
}

/// The Go lexer's `eof` rune.
const EOF: char = '\0';

/// lex.go's state functions, one variant each (`lexSkip` is folded into its callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Top,
    TopValueEnd,
    BlockStart,
    BlockValueEnd,
    BlockEnd,
    KeyStart,
    DubQuotedKey,
    QuotedKey,
    IncludeStart,
    IncludeQuotedString,
    IncludeDubQuotedString,
    IncludeString,
    Include,
    Key,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    MapKeyStart,
    MapQuotedKey,
    MapDubQuotedKey,
    MapKey,
    MapKeyEnd,
    MapValue,
    MapValueEnd,
    MapEnd,
    QuotedString,
    DubQuotedString,
    String,
    Block,
    StringEscape,
    StringBinary,
    NumberOrDateOrStringOrIpStart,
    NumberOrDateOrStringOrIp,
    ConvenientNumber,
    DateAfterYear,
    NegNumberStart,
    NegNumber,
    FloatStart,
    Float,
    IpAddr,
    CommentStart,
    Comment,
}

type Next = Option<State>;

/// The lexer over one file's bytes.
pub(crate) struct Lexer<'a> {
    input: &'a [u8],
    start: usize,
    pos: usize,
    width: usize,
    line: usize,
    state: Next,
    items: VecDeque<Item>,
    stack: Vec<State>,
    string_parts: Vec<u8>,
    string_state: State,
    lstart: usize,
    ilstart: usize,
}

/// Decodes one rune like Go's `utf8.DecodeRune`: invalid input yields U+FFFD with width 1.
fn decode_rune(b: &[u8]) -> (char, usize) {
    let Some(&first) = b.first() else {
        return (char::REPLACEMENT_CHARACTER, 0);
    };
    let len = match first {
        0x00..=0x7f => return (char::from(first), 1),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    match b
        .get(..len)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.chars().next())
    {
        Some(c) => (c, len),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// Go's `unicode.IsSpace`.
fn is_space(r: char) -> bool {
    r.is_whitespace()
}

/// Go's `unicode.IsDigit` restricted to ASCII (nats-server's number parsing only accepts ASCII).
fn is_digit(r: char) -> bool {
    r.is_ascii_digit()
}

fn is_whitespace(r: char) -> bool {
    r == '\t' || r == ' '
}

fn is_nl(r: char) -> bool {
    r == '\n' || r == '\r'
}

fn is_key_separator(r: char) -> bool {
    r == '=' || r == ':'
}

fn is_number_suffix(r: char) -> bool {
    matches!(
        r,
        'k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T' | 'p' | 'P' | 'e' | 'E'
    )
}

/// lex.go's `escapeSpecial`, applied to every rune argument of an error message.
fn esc(r: char) -> String {
    if r == '\n' {
        "\\n".to_string()
    } else {
        r.to_string()
    }
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Lexer {
            input,
            start: 0,
            pos: 0,
            width: 0,
            line: 1,
            state: Some(State::Top),
            items: VecDeque::new(),
            stack: Vec::new(),
            string_parts: Vec::new(),
            string_state: State::String,
            lstart: 0,
            ilstart: 0,
        }
    }

    /// The next item; after an error or EOF item it keeps returning EOF.
    pub(crate) fn next_item(&mut self) -> Item {
        loop {
            if let Some(item) = self.items.pop_front() {
                return item;
            }
            match self.state {
                Some(s) => self.state = self.step(s),
                None => {
                    return Item {
                        typ: ItemType::Eof,
                        val: String::new(),
                        line: self.line,
                        pos: 0,
                    };
                }
            }
        }
    }

    fn push(&mut self, s: State) {
        self.stack.push(s);
    }

    fn pop(&mut self) -> Next {
        match self.stack.pop() {
            Some(s) => Some(s),
            None => self.errorf("BUG in lexer: no states to pop.".to_string()),
        }
    }

    fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        self.input.get(from..to).unwrap_or_default()
    }

    fn item_pos(&self, val_len: usize) -> usize {
        self.pos
            .saturating_sub(self.ilstart)
            .saturating_sub(val_len)
    }

    fn emit(&mut self, typ: ItemType) {
        let mut val = self.string_parts.clone();
        val.extend_from_slice(self.slice(self.start, self.pos));
        let pos = self.item_pos(val.len());
        let val = String::from_utf8_lossy(&val).into_owned();
        self.items.push_back(Item {
            typ,
            val,
            line: self.line,
            pos,
        });
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn emit_string(&mut self) {
        let mut val = std::mem::take(&mut self.string_parts);
        val.extend_from_slice(self.slice(self.start, self.pos));
        let pos = self.item_pos(val.len());
        let val = String::from_utf8_lossy(&val).into_owned();
        self.items.push_back(Item {
            typ: ItemType::String,
            val,
            line: self.line,
            pos,
        });
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn add_current_string_part(&mut self, offset: usize) {
        let part = self.slice(self.start, self.pos.saturating_sub(offset));
        self.string_parts.extend_from_slice(part);
        self.start = self.pos;
    }

    fn add_string_part(&mut self, s: &[u8]) -> Next {
        self.string_parts.extend_from_slice(s);
        self.start = self.pos;
        Some(self.string_state)
    }

    fn next(&mut self) -> char {
        if self.pos >= self.input.len() {
            self.width = 0;
            return EOF;
        }
        if self.input[self.pos] == b'\n' {
            self.line += 1;
            self.lstart = self.pos;
        }
        let (r, w) = decode_rune(&self.input[self.pos..]);
        self.width = w;
        self.pos += w;
        r
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
        if self.input.get(self.pos) == Some(&b'\n') {
            self.line = self.line.saturating_sub(1);
        }
    }

    fn peek(&mut self) -> char {
        let r = self.next();
        self.backup();
        r
    }

    fn errorf(&mut self, msg: String) -> Next {
        let pos = self.pos.saturating_sub(self.lstart);
        self.items.push_back(Item {
            typ: ItemType::Error,
            val: msg,
            line: self.line,
            pos,
        });
        None
    }

    fn skip(&mut self, next: State) -> Next {
        self.ignore();
        Some(next)
    }

    fn is_bool(&self) -> bool {
        let s = self.slice(self.start, self.pos).to_ascii_lowercase();
        matches!(&s[..], b"true" | b"false" | b"on" | b"off" | b"yes" | b"no")
    }

    fn is_variable(&mut self) -> bool {
        if self.input.get(self.start) == Some(&b'$') {
            self.start += 1;
            return true;
        }
        false
    }

    fn key_check_keyword(&mut self, fall_through: State, push: Option<State>) -> Next {
        if self
            .slice(self.start, self.pos)
            .eq_ignore_ascii_case(b"include")
        {
            self.ignore();
            if let Some(p) = push {
                self.push(p);
            }
            return Some(State::IncludeStart);
        }
        self.emit(ItemType::Key);
        Some(fall_through)
    }

    /// Handles the `/` that may open a `//` comment: true when a comment was opened.
    fn slash_comment(&mut self, ret: State) -> bool {
        if self.next() == '/' {
            self.push(ret);
            return true;
        }
        self.backup();
        false
    }

    fn step(&mut self, s: State) -> Next {
        match s {
            State::Top => self.lex_top(),
            State::TopValueEnd => self.lex_top_value_end(),
            State::BlockStart => self.lex_block_start(),
            State::BlockValueEnd => self.lex_block_value_end(),
            State::BlockEnd => self.lex_block_end(),
            State::KeyStart => self.lex_key_start(),
            State::DubQuotedKey => self.lex_quoted_key('"'),
            State::QuotedKey => self.lex_quoted_key('\''),
            State::IncludeStart => self.lex_include_start(),
            State::IncludeQuotedString => self.lex_include_quoted('\''),
            State::IncludeDubQuotedString => self.lex_include_quoted('"'),
            State::IncludeString => self.lex_include_string(),
            State::Include => self.lex_include(),
            State::Key => self.lex_key(),
            State::KeyEnd => self.lex_key_end(),
            State::Value => self.lex_value(),
            State::ArrayValue => self.lex_array_value(),
            State::ArrayValueEnd => self.lex_array_value_end(),
            State::ArrayEnd => self.lex_array_end(),
            State::MapKeyStart => self.lex_map_key_start(),
            State::MapQuotedKey => self.lex_map_quoted_key('\''),
            State::MapDubQuotedKey => self.lex_map_quoted_key('"'),
            State::MapKey => self.lex_map_key(),
            State::MapKeyEnd => self.lex_map_key_end(),
            State::MapValue => self.lex_map_value(),
            State::MapValueEnd => self.lex_map_value_end(),
            State::MapEnd => self.lex_map_end(),
            State::QuotedString => self.lex_quoted_string(),
            State::DubQuotedString => self.lex_dub_quoted_string(),
            State::String => self.lex_string(),
            State::Block => self.lex_block(),
            State::StringEscape => self.lex_string_escape(),
            State::StringBinary => self.lex_string_binary(),
            State::NumberOrDateOrStringOrIpStart => self.lex_number_start(),
            State::NumberOrDateOrStringOrIp => self.lex_number(),
            State::ConvenientNumber => self.lex_convenient_number(),
            State::DateAfterYear => self.lex_date_after_year(),
            State::NegNumberStart => self.lex_neg_number_start(),
            State::NegNumber => self.lex_neg_number(),
            State::FloatStart => self.lex_float_start(),
            State::Float => self.lex_float(),
            State::IpAddr => self.lex_ip_addr(),
            State::CommentStart => self.lex_comment_start(),
            State::Comment => self.lex_comment(),
        }
    }

    /// The `eof` arm shared by several states (also reached by falling through from `/`).
    fn eof_or_error(&mut self) -> Next {
        if self.pos > self.start {
            return self.errorf("Unexpected EOF.".to_string());
        }
        self.emit(ItemType::Eof);
        None
    }
}
