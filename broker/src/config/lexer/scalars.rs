//! The lexer states for values: quoted and bare strings, raw `( )` blocks, escapes,
//! numbers with size suffixes, floats, IP-like strings, datetimes and comments.

use super::{
    EOF, ItemType, Lexer, Next, State, esc, is_digit, is_nl, is_number_suffix, is_whitespace,
};

impl Lexer<'_> {
    pub(super) fn lex_quoted_string(&mut self) -> Next {
        let r = self.next();
        if r == '\'' {
            self.backup();
            self.emit(ItemType::String);
            self.next();
            self.ignore();
            return self.pop();
        } else if r == EOF {
            return self.eof_or_error();
        }
        Some(State::QuotedString)
    }

    pub(super) fn lex_dub_quoted_string(&mut self) -> Next {
        let r = self.next();
        if r == '\\' {
            self.add_current_string_part(1);
            return Some(State::StringEscape);
        } else if r == '"' {
            self.backup();
            self.emit_string();
            self.next();
            self.ignore();
            return self.pop();
        } else if r == EOF {
            return self.eof_or_error();
        }
        Some(State::DubQuotedString)
    }

    pub(super) fn lex_string(&mut self) -> Next {
        let r = self.next();
        if r == '\\' {
            self.add_current_string_part(1);
            return Some(State::StringEscape);
        }
        if is_nl(r) || r == EOF || r == ';' || r == ',' || r == ']' || r == '}' || is_whitespace(r)
        {
            self.backup();
            if !self.string_parts.is_empty() {
                self.emit_string();
            } else if self.is_bool() {
                self.emit(ItemType::Bool);
            } else if self.is_variable() {
                self.emit(ItemType::Variable);
            } else {
                self.emit_string();
            }
            return self.pop();
        }
        if r == '\'' {
            self.backup();
            self.emit_string();
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::String)
    }

    pub(super) fn lex_block(&mut self) -> Next {
        let r = self.next();
        if r == ')' {
            self.backup();
            self.backup();
            // A ')' only closes the block when it stands alone on its line.
            if self.next() != '\n' {
                self.next();
                return Some(State::Block);
            }
            self.next();
            let after = self.next();
            if after == '\n' || after == EOF {
                self.backup();
                self.backup();
                self.emit(ItemType::String);
                self.next();
                self.ignore();
                return self.pop();
            }
            self.backup();
        } else if r == EOF {
            return self.errorf("Unexpected EOF processing block.".to_string());
        }
        Some(State::Block)
    }

    pub(super) fn lex_string_escape(&mut self) -> Next {
        let r = self.next();
        match r {
            'x' => Some(State::StringBinary),
            't' => self.add_string_part(b"\t"),
            'n' => self.add_string_part(b"\n"),
            'r' => self.add_string_part(b"\r"),
            '"' => self.add_string_part(b"\""),
            '\\' => self.add_string_part(b"\\"),
            _ => self.errorf(format!(
                "Invalid escape character '{}'. Only the following escape characters are \
                 allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.",
                esc(r)
            )),
        }
    }

    pub(super) fn lex_string_binary(&mut self) -> Next {
        const EOL: &str = "Expected two hexadecimal digits after '\\x', but hit end of line";
        if is_nl(self.next()) || is_nl(self.next()) {
            return self.errorf(EOL.to_string());
        }
        let digits = self.slice(self.pos.saturating_sub(2), self.pos);
        let decoded = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| u8::from_str_radix(s, 16).ok());
        match decoded {
            Some(b) if digits.iter().all(u8::is_ascii_hexdigit) => self.add_string_part(&[b]),
            _ => {
                let got = String::from_utf8_lossy(digits).into_owned();
                self.errorf(format!(
                    "Expected two hexadecimal digits after '\\x', but got '{got}'"
                ))
            }
        }
    }

    pub(super) fn lex_number_start(&mut self) -> Next {
        let r = self.next();
        if !is_digit(r) {
            if r == '.' {
                return self.errorf("Floats must start with a digit, not '.'.".to_string());
            }
            return self.errorf(format!("Expected a digit but got '{}'.", esc(r)));
        }
        Some(State::NumberOrDateOrStringOrIp)
    }

    /// True for the runes that end a number (`lexNumberOrDateOrStringOrIP`'s list).
    pub(super) fn ends_number(r: char) -> bool {
        is_nl(r) || r == EOF || r == '}' || r == ';' || r == ',' || is_whitespace(r) || is_digit(r)
    }

    pub(super) fn lex_number(&mut self) -> Next {
        let r = self.next();
        if r == '-' {
            if self.pos.saturating_sub(self.start) != 5 {
                return self.errorf("All ISO8601 dates must be in full Zulu form.".to_string());
            }
            return Some(State::DateAfterYear);
        } else if is_digit(r) {
            return Some(State::NumberOrDateOrStringOrIp);
        } else if r == '.' {
            return Some(State::FloatStart);
        } else if is_number_suffix(r) {
            return Some(State::ConvenientNumber);
        } else if !Self::ends_number(r) {
            self.string_state = State::String;
            return Some(State::String);
        }
        self.backup();
        self.emit(ItemType::Integer);
        self.pop()
    }

    pub(super) fn lex_convenient_number(&mut self) -> Next {
        let r = self.next();
        if matches!(r, 'b' | 'B' | 'i' | 'I') {
            return Some(State::ConvenientNumber);
        }
        self.backup();
        // Unlike after plain digits, a digit after the suffix makes the whole token a string
        // (nats-server 2.15, nats-io/nats-server#8263: "5e7bcd" is a password, not 5e).
        if Self::ends_number(r) && !is_digit(r) {
            self.emit(ItemType::Integer);
            return self.pop();
        }
        self.string_state = State::String;
        Some(State::String)
    }

    pub(super) fn lex_date_after_year(&mut self) -> Next {
        const FORMAT: &[u8] = b"00-00T00:00:00Z";
        for &f in FORMAT {
            let r = self.next();
            if f == b'0' {
                if !is_digit(r) {
                    return self.errorf(format!(
                        "Expected digit in ISO8601 datetime, but found '{}' instead.",
                        esc(r)
                    ));
                }
            } else if char::from(f) != r {
                return self.errorf(format!(
                    "Expected '{}' in ISO8601 datetime, but found '{}' instead.",
                    char::from(f),
                    esc(r)
                ));
            }
        }
        self.emit(ItemType::Datetime);
        self.pop()
    }

    pub(super) fn lex_neg_number_start(&mut self) -> Next {
        let r = self.next();
        if !is_digit(r) {
            if r == '.' {
                return self.errorf("Floats must start with a digit, not '.'.".to_string());
            }
            return self.errorf(format!("Expected a digit but got '{}'.", esc(r)));
        }
        Some(State::NegNumber)
    }

    pub(super) fn lex_neg_number(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) {
            return Some(State::NegNumber);
        } else if r == '.' {
            return Some(State::FloatStart);
        } else if is_number_suffix(r) {
            return Some(State::ConvenientNumber);
        }
        self.backup();
        self.emit(ItemType::Integer);
        self.pop()
    }

    pub(super) fn lex_float_start(&mut self) -> Next {
        let r = self.next();
        if !is_digit(r) {
            return self.errorf(format!(
                "Floats must have a digit after the '.', but got '{}' instead.",
                esc(r)
            ));
        }
        Some(State::Float)
    }

    pub(super) fn lex_float(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) {
            return Some(State::Float);
        }
        if r == '.' {
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(ItemType::Float);
        self.pop()
    }

    pub(super) fn lex_ip_addr(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) || r == '.' || r == ':' || r == '-' {
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(ItemType::String);
        self.pop()
    }

    pub(super) fn lex_comment_start(&mut self) -> Next {
        self.ignore();
        self.emit(ItemType::CommentStart);
        Some(State::Comment)
    }

    pub(super) fn lex_comment(&mut self) -> Next {
        let r = self.peek();
        if is_nl(r) || r == EOF {
            self.emit(ItemType::Text);
            return self.pop();
        }
        self.next();
        Some(State::Comment)
    }
}
