//! The terminal model: transcript bytes -> the rows a person saw, with what the shell was doing.
//!
//! Bytes go through `vte`, the VT500-series parser of Alacritty (Paul Williams' state machine):
//! every escape, control and UTF-8 sequence is decoded as a terminal does, invalid UTF-8 becomes
//! U+FFFD, and nothing is guessed with regexes. `vte` was chosen over the screen emulators
//! `vt100` and `avt` because those keep a fixed grid: a transcript does not say how wide the
//! user's terminal was, a wrong width re-wraps or scrolls away what was typed, and what is
//! needed is the stream of lines as they were submitted, not the final screen. So this model
//! keeps only the logical line being drawn (its physical rows, once the width is learned), and
//! emits each line when a line feed ends it.
//!
//! On top of the drawing it tracks when the shell is reading input, from the marks shells
//! write around their line editor: bash and zsh switch bracketed paste on (`CSI ?2004h`) while
//! reading a line and off after it (bash before its prompt, zsh after it), and busybox ash asks
//! for the cursor position (`CSI 6n`) right after its prompt. A readline redraw (`CR` then
//! `CUF` across the prompt) reveals the prompt's length; `" " CR` at the right margin, bash's
//! way to wrap, reveals the terminal's width.

use vte::{Params, Parser, Perform};

/// One line as it ended up on the screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// The line's text (soft-wrapped rows joined), trailing blanks removed.
    pub text: String,
    /// The shell's line editor was reading input while this line was drawn.
    pub input: bool,
    /// Where input started, in characters, when a mark was written after the prompt (exact).
    pub input_col: Option<usize>,
    /// The prompt's length as revealed by a line-editor redraw (exact).
    pub prompt_hint: Option<usize>,
    /// The line was edited: characters erased, cursor moved back, text redrawn.
    pub edited: bool,
    /// Text arrived as a bracketed paste (highlighted by readline).
    pub pasted: bool,
    /// The line editor was left without accepting the line (zsh on Ctrl-C prints no `^C`).
    pub interrupted: bool,
}

/// What the model emits, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Row(Row),
    /// A full-screen program took over the screen (alternate screen on); its drawing is not kept.
    FullScreen,
    /// The screen was cleared.
    Clear,
}

/// Which marks announced input, which says which line editor drew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Editor {
    #[default]
    Unknown,
    /// Bracketed paste switched on before the prompt (GNU readline: bash).
    Readline,
    /// Bracketed paste switched on after the prompt (zsh's ZLE).
    Zle,
    /// Cursor position request after the prompt (busybox line editing: ash).
    Busybox,
}

#[derive(Default)]
struct Model {
    rows: Vec<Vec<char>>,
    r: usize,
    c: usize,
    width: Option<usize>,
    insert_mode: bool,
    in_input: bool,
    row_input: bool,
    input_col: Option<usize>,
    prompt_hint: Option<usize>,
    edited: bool,
    pasted: bool,
    alt: bool,
    /// A CR right after a blank at the end of the row: a soft wrap if text follows.
    cr_after_blank: Option<usize>,
    /// Columns moved right since a CR in input (a redraw skipping the prompt).
    cuf_since_cr: Option<usize>,
    saved: (usize, usize),
    editor: Editor,
    /// zsh resets the keypad (`CSI ?1l`, `ESC >`) when it accepts a line, not when interrupted.
    keypad_reset: bool,
    interrupted: bool,
    /// Carriage returns since the last other byte, and how many a plain newline carries here
    /// (2 in a `script` file, 1 in CloudWatch): busybox wraps a long line with one more.
    crs: usize,
    newline_crs: usize,
    events: Vec<Event>,
    /// Bytes of printable output (not input) seen.
    printed: u64,
}

fn param(params: &Params, i: usize, default: usize) -> usize {
    params
        .iter()
        .nth(i)
        .and_then(|p| p.first())
        .map_or(default, |&v| if v == 0 { default } else { v as usize })
}

impl Model {
    fn row(&mut self) -> &mut Vec<char> {
        while self.rows.len() <= self.r {
            self.rows.push(Vec::new());
        }
        &mut self.rows[self.r]
    }

    /// Column in the logical line (soft-wrapped rows counted whole).
    fn logical_col(&self) -> usize {
        self.rows.iter().take(self.r).map(Vec::len).sum::<usize>() + self.c
    }

    fn line_is_blank(&self) -> bool {
        self.rows.iter().all(|r| r.iter().all(|c| *c == ' '))
    }

    fn put(&mut self, ch: char) {
        if let Some(w) = self.width {
            if self.c >= w {
                self.r += 1;
                self.c = 0;
            }
        }
        let (c, insert, in_input) = (self.c, self.insert_mode, self.in_input);
        let row = self.row();
        if row.len() < c {
            row.resize(c, ' ');
        }
        let mut changed = false;
        if c < row.len() {
            if insert {
                row.insert(c, ch);
                changed = true;
            } else {
                // Rewriting a character with itself is a redraw (zsh does it), not an edit.
                changed = row[c] != ch;
                row[c] = ch;
            }
        } else {
            row.push(ch);
        }
        self.c += 1;
        if in_input && changed {
            self.edited = true;
        }
    }

    fn commit(&mut self) {
        let input = self.row_input;
        let joined: String = self.rows.iter().flatten().collect();
        // Input keeps trailing blanks: a prompt's own space must survive an empty line.
        let text = if input {
            joined
        } else {
            joined.trim_end().to_owned()
        };
        if !input {
            self.printed += text.len() as u64 + 1;
        }
        self.events.push(Event::Row(Row {
            text,
            input,
            input_col: if input { self.input_col } else { None },
            prompt_hint: if input { self.prompt_hint } else { None },
            edited: input && self.edited,
            pasted: input && self.pasted,
            interrupted: input && self.interrupted,
        }));
        self.rows.clear();
        self.r = 0;
        self.c = 0;
        self.row_input = false;
        self.input_col = None;
        self.prompt_hint = None;
        self.edited = false;
        self.pasted = false;
        self.interrupted = false;
        if self.editor == Editor::Busybox {
            self.in_input = false; // no end mark: the line feed ends the line
        }
    }

    fn start_input(&mut self, mark: Editor) {
        // Which editor draws is decided by its first mark and then kept: bash's mark comes before
        // its prompt, at the start of a line, unless the previous output did not end its line.
        let editor = match (self.editor, mark) {
            (Editor::Unknown, Editor::Zle) if self.logical_col() == 0 || self.line_is_blank() => {
                Editor::Readline
            }
            (Editor::Unknown, m) => m,
            (Editor::Readline | Editor::Zle, Editor::Zle) => self.editor,
            (_, m) => m,
        };
        self.editor = editor;
        self.in_input = true;
        self.keypad_reset = false;
        if editor == Editor::Readline {
            if !self.line_is_blank() {
                // What is on the line ends here: an input line left by Ctrl-C, or output that
                // did not end its line (the prompt starts after it).
                self.commit();
            }
            self.row_input = true;
        } else if self.input_col.is_none() {
            self.input_col = Some(self.logical_col());
            self.row_input = true;
        }
    }

    /// A CR followed by printing, after a blank at the right margin: bash wrapping a long line.
    fn resolve_soft_wrap(&mut self, next: char) {
        if let Some(blank_at) = self.cr_after_blank.take() {
            let redraw = self.width.is_none()
                && self.rows.get(self.r).and_then(|r| r.first()) == Some(&next);
            if redraw || blank_at < 20 || self.width.is_some_and(|w| w != blank_at) {
                return; // a redraw from the line start, not a wrap at the margin
            }
            let r = self.r;
            if let Some(row) = self.rows.get_mut(r) {
                row.truncate(blank_at);
            }
            if self.width.is_none() && blank_at >= 8 {
                self.width = Some(blank_at);
            }
            self.r += 1;
            self.c = 0;
        }
    }
}

impl Perform for Model {
    fn print(&mut self, ch: char) {
        if self.alt {
            return;
        }
        self.crs = 0;
        self.resolve_soft_wrap(ch);
        if let Some(k) = self.cuf_since_cr.take() {
            if k > 0 && self.in_input && self.r == 0 {
                self.prompt_hint = Some(k);
            }
        }
        if self.in_input {
            self.row_input = true;
        }
        self.put(ch);
    }

    fn execute(&mut self, byte: u8) {
        if self.alt {
            return;
        }
        let pending_wrap = self.cr_after_blank.take();
        if byte != b'\r' && byte != b'\n' {
            self.crs = 0;
        }
        match byte {
            b'\r' => {
                self.crs += 1;
                if pending_wrap.is_some() {
                    self.cr_after_blank = pending_wrap;
                }
                let row_len = self.rows.get(self.r).map_or(0, Vec::len);
                let ends_blank =
                    self.c == row_len && self.c > 0 && self.rows[self.r][self.c - 1] == ' ';
                if self.in_input && ends_blank && self.rows[self.r].iter().any(|c| *c != ' ') {
                    self.cr_after_blank = Some(self.c - 1);
                }
                if self.in_input {
                    self.cuf_since_cr = Some(0);
                }
                self.c = 0;
            }
            b'\n' => {
                let crs = std::mem::take(&mut self.crs);
                self.cuf_since_cr = None;
                if self.editor == Editor::Busybox
                    && self.in_input
                    && crs > self.newline_crs
                    && self.newline_crs > 0
                {
                    // busybox wraps a long input line with a newline of its own.
                    let len = self.rows.get(self.r).map_or(0, Vec::len);
                    self.width.get_or_insert(len);
                    self.r += 1;
                    self.c = 0;
                } else if self.editor == Editor::Busybox
                    && self.r > 0
                    && self.width.is_some_and(|w| self.rows[self.r].len() > w)
                {
                    // A line that ended exactly at the margin: busybox's wrap was the end of the
                    // input, and this row, wider than the terminal, is output.
                    let output = self.rows.pop().unwrap_or_default();
                    self.commit();
                    self.rows.push(output);
                    self.commit();
                } else {
                    self.commit();
                }
            }
            0x08 => {
                self.cuf_since_cr = None;
                if self.c > 0 {
                    self.c -= 1;
                } else if self.r > 0 && self.width.is_some() {
                    self.r -= 1;
                    self.c = self.width.unwrap_or(0).saturating_sub(1);
                }
            }
            b'\t' => {
                let next = (self.c / 8 + 1) * 8;
                while self.c < next {
                    self.put(' ');
                }
            }
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, action: char) {
        let private = intermediates.first() == Some(&b'?');
        if private && (action == 'h' || action == 'l') {
            for p in params.iter() {
                match p.first().copied().unwrap_or(0) {
                    2004 if !self.alt => {
                        if action == 'h' {
                            let col = self.logical_col();
                            self.start_input(if col == 0 && self.line_is_blank() {
                                Editor::Readline
                            } else {
                                Editor::Zle
                            });
                        } else {
                            if self.editor == Editor::Zle && self.row_input && !self.keypad_reset {
                                self.interrupted = true;
                            }
                            self.in_input = false;
                        }
                    }
                    1 if action == 'l' && self.in_input => self.keypad_reset = true,
                    1049 | 1047 | 47 => {
                        if action == 'h' && !self.alt {
                            self.alt = true;
                            self.events.push(Event::FullScreen);
                        } else if action == 'l' {
                            self.alt = false;
                            self.rows.clear();
                            self.r = 0;
                            self.c = 0;
                        }
                    }
                    _ => {}
                }
            }
            return;
        }
        if self.alt || private {
            return;
        }
        if action != 'K' {
            self.cr_after_blank = None;
        }
        self.crs = 0;
        let keeps_cuf = matches!(action, 'C' | 'K' | 'm');
        if !keeps_cuf {
            self.cuf_since_cr = None;
        }
        match action {
            'n' if param(params, 0, 0) == 6 => self.start_input(Editor::Busybox),
            'C' => {
                let n = param(params, 0, 1);
                self.c += n;
                if let Some(k) = self.cuf_since_cr.as_mut() {
                    *k += n;
                }
            }
            'D' => self.c = self.c.saturating_sub(param(params, 0, 1)),
            'G' | '`' => self.c = param(params, 0, 1) - 1,
            'A' => self.r = self.r.saturating_sub(param(params, 0, 1)),
            'B' => self.r += param(params, 0, 1),
            'H' | 'f' => {
                self.c = param(params, 1, 1) - 1;
            }
            'K' => {
                if self.cr_after_blank.is_some() {
                    self.resolve_soft_wrap('\0'); // zsh: overflow blank, CR, erase, then the text
                }
                let c = self.c;
                let mode = param(params, 0, 0);
                let row = self.row();
                let erased = match mode {
                    0 => row.iter().skip(c).any(|x| *x != ' '),
                    _ => row.iter().take(c + 1).any(|x| *x != ' '),
                };
                match mode {
                    0 => row.truncate(c),
                    1 => row.iter_mut().take(c + 1).for_each(|x| *x = ' '),
                    _ => row.clear(),
                }
                if self.in_input && erased && self.row_input {
                    self.edited = true;
                }
            }
            'J' => match param(params, 0, 0) {
                0 => {
                    let (r, c) = (self.r, self.c);
                    let erased = self.row().iter().skip(c).any(|x| *x != ' ');
                    self.row().truncate(c);
                    self.rows.truncate(r + 1);
                    if self.in_input && erased && self.row_input {
                        self.edited = true;
                    }
                }
                2 | 3 => {
                    if !self.line_is_blank() && !self.in_input {
                        self.commit();
                    }
                    self.rows.clear();
                    self.r = 0;
                    self.c = 0;
                    if self.events.last() != Some(&Event::Clear) {
                        self.events.push(Event::Clear);
                    }
                }
                _ => {}
            },
            'P' => {
                let (c, n) = (self.c, param(params, 0, 1));
                let row = self.row();
                if c < row.len() {
                    let end = (c + n).min(row.len());
                    row.drain(c..end);
                    if self.in_input {
                        self.edited = true;
                    }
                }
            }
            '@' => {
                let (c, n) = (self.c, param(params, 0, 1));
                let row = self.row();
                if c <= row.len() {
                    for _ in 0..n {
                        row.insert(c, ' ');
                    }
                }
            }
            'X' => {
                let (c, n) = (self.c, param(params, 0, 1));
                let row = self.row();
                for x in row.iter_mut().skip(c).take(n) {
                    *x = ' ';
                }
            }
            'h' | 'l' if param(params, 0, 0) == 4 => self.insert_mode = action == 'h',
            'm' => {
                if self.in_input && params.iter().any(|p| p.first() == Some(&7)) {
                    self.pasted = true; // readline highlights a bracketed paste in reverse video
                }
            }
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        if self.alt || !intermediates.is_empty() {
            return;
        }
        self.cr_after_blank = None;
        self.cuf_since_cr = None;
        self.crs = 0;
        match byte {
            b'>' if self.in_input => self.keypad_reset = true,
            b'7' => self.saved = (self.r, self.c),
            b'8' => (self.r, self.c) = self.saved,
            b'c' => {
                self.rows.clear();
                self.r = 0;
                self.c = 0;
                self.events.push(Event::Clear);
            }
            _ => {}
        }
    }
}

/// The number of carriage returns most line feeds carry in this body.
fn usual_crs_per_newline(body: &[u8]) -> usize {
    let mut counts = [0usize; 5];
    for at in memchr::memchr_iter(b'\n', body) {
        let crs = body[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\r')
            .count()
            .min(4);
        counts[crs] += 1;
    }
    counts
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map_or(0, |(crs, _)| crs)
}

/// What the model made of a transcript body.
#[derive(Debug, Default)]
pub struct Drawn {
    pub events: Vec<Event>,
    pub editor: Editor,
    pub width: Option<usize>,
}

/// Runs the terminal model over a transcript body (without the `script` header and footer).
pub fn draw(body: &[u8]) -> Drawn {
    let mut parser = Parser::new();
    let mut model = Model {
        newline_crs: usual_crs_per_newline(body),
        ..Model::default()
    };
    parser.advance(&mut model, body);
    if !model.line_is_blank() {
        model.commit();
    }
    Drawn {
        events: model.events,
        editor: model.editor,
        width: model.width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(body: &[u8]) -> Vec<Row> {
        draw(body)
            .events
            .into_iter()
            .filter_map(|e| match e {
                Event::Row(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn backspace_and_erase_edit_the_line() {
        let r = rows(b"\x1b[?2004hroot@vm:/# ehco\x08\x1b[K\x08\x1b[K\x08\x1b[Kcho fixed\r\r\n\x1b[?2004l\rfixed\r\r\n");
        assert_eq!(r[0].text, "root@vm:/# echo fixed");
        assert!(r[0].input && r[0].edited);
        assert_eq!(r[1].text, "fixed");
        assert!(!r[1].input);
    }

    #[test]
    fn readline_redraw_reveals_the_prompt_length() {
        let r = rows(b"\x1b[?2004hroot@vm:/# echo wrong\r\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[Kecho right\r\r\n");
        assert_eq!(r[0].text, "root@vm:/# echo right");
        assert_eq!(r[0].prompt_hint, Some(11));
    }

    #[test]
    fn bash_soft_wrap_teaches_the_width() {
        let d =
            draw(b"\x1b[?2004hroot@vm:/# echo xxxxxxxxxxxxxxxxxxxxxxxx \rxxxx\x08\x1b[Kyy\r\r\n");
        assert_eq!(d.width, Some(40));
        let Event::Row(r) = &d.events[0] else {
            panic!()
        };
        assert_eq!(r.text, "root@vm:/# echo xxxxxxxxxxxxxxxxxxxxxxxxxxxyy");
    }

    #[test]
    fn marks_after_the_prompt_give_the_exact_input_column() {
        let zle = rows(b"vm# \x1b[K\x1b[?1h\x1b=\x1b[?2004hls\x1b[?1l\x1b>\x1b[?2004l\r\r\r\n");
        assert_eq!(
            (zle[0].text.as_str(), zle[0].input_col),
            ("vm# ls", Some(4))
        );
        let ash = rows(b"/ # \x1b[6nid\r\r\nuid=0(root)\r\r\n");
        assert_eq!((ash[0].input_col, ash[0].input), (Some(4), true));
        assert!(!ash[1].input);
    }

    #[test]
    fn alternate_screen_drawing_is_not_kept() {
        let d = draw(b"$ \x1b[6nless x\r\n\x1b[?1049hSECRET SCREEN\r\n\x1b[?1049l$ \x1b[6nid\r\n");
        assert!(d.events.contains(&Event::FullScreen));
        let texts: Vec<String> = d
            .events
            .iter()
            .filter_map(|e| {
                if let Event::Row(r) = e {
                    Some(r.text.clone())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(texts, ["$ less x", "$ id"]);
    }

    #[test]
    fn invalid_utf8_and_binary_do_not_break_the_model() {
        let r = rows(b"out \xff\xfe\x00\x01 bin\r\n$ \x1b[6nid\r\n");
        assert!(r[0].text.contains('\u{fffd}'));
        assert_eq!(r[1].text, "$ id");
    }
}
