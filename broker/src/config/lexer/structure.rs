//! The lexer states for the structure of a file: top level, `{}` blocks, keys, `include`,
//! arrays and maps (lex.go `lexTop` to `lexMapEnd`).

use super::{
    EOF, ItemType, Lexer, Next, State, esc, is_digit, is_key_separator, is_nl, is_space,
    is_whitespace,
};

impl Lexer<'_> {
    pub(super) fn lex_top(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            return self.skip(State::Top);
        }
        match r {
            '{' => {
                self.push(State::Top);
                return self.skip(State::BlockStart);
            }
            '#' => {
                self.push(State::Top);
                return Some(State::CommentStart);
            }
            '/' => {
                if self.slash_comment(State::Top) {
                    return Some(State::CommentStart);
                }
                return self.eof_or_error();
            }
            EOF => return self.eof_or_error(),
            _ => {}
        }
        self.backup();
        self.push(State::TopValueEnd);
        Some(State::KeyStart)
    }

    pub(super) fn lex_top_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            '#' => {
                self.push(State::Top);
                Some(State::CommentStart)
            }
            '/' => {
                if self.slash_comment(State::Top) {
                    return Some(State::CommentStart);
                }
                Some(State::TopValueEnd)
            }
            _ if is_whitespace(r) => Some(State::TopValueEnd),
            _ if is_nl(r) || r == EOF || r == ';' || r == ',' || r == '}' => {
                self.ignore();
                Some(State::Top)
            }
            _ => self.errorf(format!(
                "Expected a top-level value to end with a new line, comment or EOF, but got '{}' \
                 instead.",
                esc(r)
            )),
        }
    }

    pub(super) fn lex_block_start(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            return self.skip(State::BlockStart);
        }
        match r {
            '{' => {
                self.push(State::BlockEnd);
                return self.skip(State::BlockStart);
            }
            '}' => {
                self.ignore();
                return self.pop();
            }
            '#' => {
                self.push(State::BlockStart);
                return Some(State::CommentStart);
            }
            '/' => {
                if self.slash_comment(State::BlockStart) {
                    return Some(State::CommentStart);
                }
                return self.eof_or_error();
            }
            EOF => return self.eof_or_error(),
            _ => {}
        }
        self.backup();
        self.push(State::BlockValueEnd);
        Some(State::KeyStart)
    }

    pub(super) fn lex_block_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            '#' => {
                self.push(State::BlockValueEnd);
                Some(State::CommentStart)
            }
            '/' => {
                if self.slash_comment(State::BlockValueEnd) {
                    return Some(State::CommentStart);
                }
                Some(State::BlockValueEnd)
            }
            _ if is_whitespace(r) => Some(State::BlockValueEnd),
            _ if is_nl(r) || r == ';' || r == ',' => {
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.backup();
                Some(State::BlockEnd)
            }
            _ => self.errorf(format!(
                "Expected a block-level value to end with a new line, comment or EOF, but got \
                 '{}' instead.",
                esc(r)
            )),
        }
    }

    pub(super) fn lex_block_end(&mut self) -> Next {
        let r = self.next();
        match r {
            '#' => {
                self.push(State::BlockStart);
                Some(State::CommentStart)
            }
            '/' => {
                if self.slash_comment(State::BlockStart) {
                    return Some(State::CommentStart);
                }
                Some(State::BlockEnd)
            }
            _ if is_nl(r) || is_whitespace(r) => Some(State::BlockEnd),
            ';' | ',' => {
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.ignore();
                self.pop()
            }
            _ => self.errorf(format!(
                "Expected a block-level to end with a '}}', but got '{}' instead.",
                esc(r)
            )),
        }
    }

    pub(super) fn lex_key_start(&mut self) -> Next {
        let r = self.peek();
        if is_key_separator(r) {
            return self.errorf(format!("Unexpected key separator '{}'", esc(r)));
        } else if is_space(r) {
            self.next();
            return self.skip(State::KeyStart);
        } else if r == '"' {
            self.next();
            return self.skip(State::DubQuotedKey);
        } else if r == '\'' {
            self.next();
            return self.skip(State::QuotedKey);
        }
        self.ignore();
        self.next();
        Some(State::Key)
    }

    pub(super) fn lex_quoted_key(&mut self, quote: char) -> Next {
        let r = self.peek();
        if r == quote {
            self.emit(ItemType::Key);
            self.next();
            return self.skip(State::KeyEnd);
        } else if r == EOF {
            return self.eof_or_error();
        }
        self.next();
        Some(if quote == '"' {
            State::DubQuotedKey
        } else {
            State::QuotedKey
        })
    }

    pub(super) fn lex_include_start(&mut self) -> Next {
        let r = self.next();
        if is_whitespace(r) {
            return self.skip(State::IncludeStart);
        }
        self.backup();
        Some(State::Include)
    }

    pub(super) fn lex_include_quoted(&mut self, quote: char) -> Next {
        let r = self.next();
        if r == quote {
            self.backup();
            self.emit(ItemType::Include);
            self.next();
            self.ignore();
            return self.pop();
        } else if r == EOF {
            let msg = if quote == '"' {
                "Unexpected EOF in double quoted include"
            } else {
                "Unexpected EOF in quoted include"
            };
            return self.errorf(msg.to_string());
        }
        Some(if quote == '"' {
            State::IncludeDubQuotedString
        } else {
            State::IncludeQuotedString
        })
    }

    pub(super) fn lex_include_string(&mut self) -> Next {
        let r = self.next();
        if is_nl(r) || r == EOF || r == ';' || r == '}' || is_whitespace(r) {
            self.backup();
            self.emit(ItemType::Include);
            return self.pop();
        } else if r == '\'' {
            self.backup();
            self.emit(ItemType::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::IncludeString)
    }

    pub(super) fn lex_include(&mut self) -> Next {
        let r = self.next();
        let what = match r {
            '\'' => {
                self.ignore();
                return Some(State::IncludeQuotedString);
            }
            '"' => {
                self.ignore();
                return Some(State::IncludeDubQuotedString);
            }
            '[' => "start of an array",
            '{' => "start of a map",
            '(' => "start of a block",
            '-' => "start of a number",
            _ if is_digit(r) => "start of a number",
            '\\' => "escape sequence",
            _ if is_nl(r) => "new line",
            _ => {
                self.backup();
                return Some(State::IncludeString);
            }
        };
        self.errorf(format!("Expected include value but found {what}"))
    }

    pub(super) fn lex_key(&mut self) -> Next {
        let r = self.peek();
        if is_space(r) {
            return self.key_check_keyword(State::KeyEnd, None);
        } else if is_key_separator(r) || r == EOF {
            self.emit(ItemType::Key);
            return Some(State::KeyEnd);
        }
        self.next();
        Some(State::Key)
    }

    pub(super) fn lex_key_end(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            return self.skip(State::KeyEnd);
        } else if is_key_separator(r) {
            return self.skip(State::Value);
        } else if r == EOF {
            self.emit(ItemType::Eof);
            return None;
        }
        self.backup();
        Some(State::Value)
    }

    pub(super) fn lex_value(&mut self) -> Next {
        let r = self.next();
        if is_whitespace(r) {
            return self.skip(State::Value);
        }
        match r {
            '[' => {
                self.ignore();
                self.emit(ItemType::ArrayStart);
                Some(State::ArrayValue)
            }
            '{' => {
                self.ignore();
                self.emit(ItemType::MapStart);
                Some(State::MapKeyStart)
            }
            '\'' => {
                self.ignore();
                Some(State::QuotedString)
            }
            '"' => {
                self.ignore();
                self.string_state = State::DubQuotedString;
                Some(State::DubQuotedString)
            }
            '-' => Some(State::NegNumberStart),
            '(' => {
                self.ignore();
                Some(State::Block)
            }
            _ if is_digit(r) => {
                self.backup();
                Some(State::NumberOrDateOrStringOrIpStart)
            }
            '.' => self.errorf("Floats must start with a digit".to_string()),
            _ if is_nl(r) => self.errorf("Expected value but found new line".to_string()),
            _ => {
                self.backup();
                self.string_state = State::String;
                Some(State::String)
            }
        }
    }

    pub(super) fn lex_array_value(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            return self.skip(State::ArrayValue);
        }
        match r {
            '#' => {
                self.push(State::ArrayValue);
                return Some(State::CommentStart);
            }
            '/' => {
                if self.slash_comment(State::ArrayValue) {
                    return Some(State::CommentStart);
                }
                return self.errorf("Unexpected array value terminator ','.".to_string());
            }
            ',' => return self.errorf("Unexpected array value terminator ','.".to_string()),
            ']' => return Some(State::ArrayEnd),
            _ => {}
        }
        self.backup();
        self.push(State::ArrayValueEnd);
        Some(State::Value)
    }

    pub(super) fn lex_array_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            _ if is_whitespace(r) => self.skip(State::ArrayValueEnd),
            '#' => {
                self.push(State::ArrayValueEnd);
                Some(State::CommentStart)
            }
            '/' => {
                if self.slash_comment(State::ArrayValueEnd) {
                    return Some(State::CommentStart);
                }
                self.skip(State::ArrayValue)
            }
            ',' => self.skip(State::ArrayValue),
            _ if is_nl(r) => self.skip(State::ArrayValue),
            ']' => Some(State::ArrayEnd),
            _ => self.errorf(format!(
                "Expected an array value terminator \",\" or an array terminator \"]\", but got \
                 '{}' instead.",
                esc(r)
            )),
        }
    }

    pub(super) fn lex_array_end(&mut self) -> Next {
        self.ignore();
        self.emit(ItemType::ArrayEnd);
        self.pop()
    }

    pub(super) fn lex_map_key_start(&mut self) -> Next {
        let r = self.peek();
        match r {
            _ if is_key_separator(r) => {
                return self.errorf(format!("Unexpected key separator '{}'.", esc(r)));
            }
            ']' => {
                return self.errorf(format!("Unexpected array end '{}' processing map.", esc(r)));
            }
            _ if is_space(r) => {
                self.next();
                return self.skip(State::MapKeyStart);
            }
            '}' => {
                self.next();
                return self.skip(State::MapEnd);
            }
            '#' => {
                self.next();
                self.push(State::MapKeyStart);
                return Some(State::CommentStart);
            }
            '/' => {
                self.next();
                if self.slash_comment(State::MapKeyStart) {
                    return Some(State::CommentStart);
                }
            }
            '\'' => {
                self.next();
                return self.skip(State::MapQuotedKey);
            }
            '"' => {
                self.next();
                return self.skip(State::MapDubQuotedKey);
            }
            EOF => return self.errorf("Unexpected EOF processing map.".to_string()),
            _ => {}
        }
        self.ignore();
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn lex_map_quoted_key(&mut self, quote: char) -> Next {
        let r = self.peek();
        if r == EOF {
            let msg = if quote == '"' {
                "Unexpected EOF processing double quoted map key."
            } else {
                "Unexpected EOF processing quoted map key."
            };
            return self.errorf(msg.to_string());
        } else if r == quote {
            self.emit(ItemType::Key);
            self.next();
            return self.skip(State::MapKeyEnd);
        }
        self.next();
        Some(if quote == '"' {
            State::MapDubQuotedKey
        } else {
            State::MapQuotedKey
        })
    }

    pub(super) fn lex_map_key(&mut self) -> Next {
        let r = self.peek();
        if r == EOF {
            return self.errorf("Unexpected EOF processing map key.".to_string());
        } else if is_space(r) {
            return self.key_check_keyword(State::MapKeyEnd, Some(State::MapValueEnd));
        } else if is_key_separator(r) {
            self.emit(ItemType::Key);
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn lex_map_key_end(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            return self.skip(State::MapKeyEnd);
        } else if is_key_separator(r) {
            return self.skip(State::MapValue);
        }
        self.backup();
        Some(State::MapValue)
    }

    pub(super) fn lex_map_value(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            return self.skip(State::MapValue);
        } else if r == ',' {
            return self.errorf("Unexpected map value terminator \",\".".to_string());
        } else if r == '}' {
            return self.skip(State::MapEnd);
        }
        self.backup();
        self.push(State::MapValueEnd);
        Some(State::Value)
    }

    pub(super) fn lex_map_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            _ if is_whitespace(r) => self.skip(State::MapValueEnd),
            '#' => {
                self.push(State::MapValueEnd);
                Some(State::CommentStart)
            }
            '/' => {
                if self.slash_comment(State::MapValueEnd) {
                    return Some(State::CommentStart);
                }
                self.skip(State::MapKeyStart)
            }
            ';' | ',' => self.skip(State::MapKeyStart),
            _ if is_nl(r) => self.skip(State::MapKeyStart),
            '}' => self.skip(State::MapEnd),
            _ => self.errorf(format!(
                "Expected a map value terminator \",\" or a map terminator \"}}\", but got '{}' \
                 instead.",
                esc(r)
            )),
        }
    }

    pub(super) fn lex_map_end(&mut self) -> Next {
        self.ignore();
        self.emit(ItemType::MapEnd);
        self.pop()
    }
}
