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

use super::altgrid::{Grid, GridInput};
use super::prompt::{first_terminator, prompt_like};

/// One line as it ended up on the screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Where the line's text (soft-wrapped rows joined) is in [`Drawn::text`]: output lines
    /// without trailing blanks, input lines with them (a prompt's own space must survive).
    pub start: usize,
    pub end: usize,
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
    /// A later line of the same input buffer (a multi-line paste or command, a completion
    /// listing and the redrawn prompt below it): reconstruction decides what it is.
    pub continues: bool,
    /// No mark said this was input: inferred from the prompt (shells without a line editor).
    pub inferred: bool,
    /// A line the terminal echoed while a command still ran, read by the shell afterwards.
    pub typed_ahead: bool,
    /// Read from the alternate screen's grid (a shell left there, or inside tmux or screen).
    pub alt_screen: bool,
}

/// What the model emits, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Row(Row),
    /// Consecutive output lines, `text[start..end]` (once a line editor's marks were seen;
    /// before that every line is a [`Row`], for prompts to be inferred from).
    Output {
        start: usize,
        end: usize,
        lines: u64,
    },
    /// A full-screen program took over the screen (alternate screen on); its drawing is not kept.
    FullScreen,
    /// The alternate screen was left (or the transcript ended on it): how many lines a shell's
    /// editor accepted there, and the last row drawn (a prompt, when a shell without marks was
    /// left there).
    FullScreenEnd {
        inputs: usize,
        last_row: String,
        at_end: bool,
        /// Rows drawn there line by line, handed back as screen lines (a shell without marks),
        /// and whether the screen was drawn so to its end (no full-screen program took it).
        line_rows: usize,
        line_drawn: bool,
    },
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
    /// Every committed line, `\n`-separated: the transcript as a person saw it.
    text: String,
    /// Physical rows of the line being drawn; `rows[..used]` are live, the rest keep their
    /// buffers for reuse (a transcript has many lines; allocating each one dominated the time).
    rows: Vec<Vec<char>>,
    used: usize,
    /// The line being drawn is plain output appended to `text[line_start..]` (no rows in use):
    /// most lines never need the row model, which takes over at the first edit.
    in_text: bool,
    /// The line kept in the text has a tab's blanks: the row model, which took such a line at
    /// its first tab, trims and marks it at its end, so it is committed and read for a margin
    /// mark as rows are.
    text_tabbed: bool,
    line_start: usize,
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
    /// The alternate screen is on: drawing goes to `grid`, not to the lines.
    alt: bool,
    grid: Option<Box<Grid>>,
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
    /// How many line feeds carried 0, 1, 2, 3, 4+ carriage returns so far.
    crs_seen: [u32; 5],
    events: Vec<Event>,
    /// Per row of the line being drawn: it continues the row above (the terminal wrapped at
    /// the margin) rather than starting a new line of a multi-line input.
    soft: Vec<bool>,
    /// The input region just ended with the cursor still on its last row (zsh ends input before
    /// its line feed): that line feed only leaves the row.
    on_committed_row: bool,
    /// busybox: the prompt its cursor request followed, and whether the row was erased to its
    /// end right before the line feed (a redraw before a completion listing, not an Enter).
    busybox_prompt: String,
    erased_before_lf: Option<usize>,
    /// The input row a bell or erase before its line feed made uncertain (see the line feed).
    maybe_listing: Option<usize>,
    /// How the line editor drawing the current input marks it (the session's editor, or a
    /// program's own: sqlite3's readline in a zsh session).
    style: Editor,
    /// The editor moved up from the region's top row, so the terminal wrapped a line where the
    /// model did not (width unknown or changed): the column the model had then.
    lost_wrap: Option<usize>,
    /// Text is being drawn grey (an autosuggestion: fish, zsh-autosuggestions), and where the
    /// last text that was not grey ended on row 0: the cursor's place when a suggestion
    /// follows it.
    grey: bool,
    plain_end: usize,
    /// fish draws `⏎` and spaces to the margin before each prompt (its mark for output that did
    /// not end its line): it names the shell and gives the width.
    fish: bool,
}

/// Cursor limits: a terminal clamps the cursor to its screen; without one, garbage such as
/// `CSI 99999 C` in binary output would pad lines to absurd widths.
const MAX_COL: usize = 4096;
const MAX_ROWS: usize = 256;

/// The most parameters vte hands over for a sequence (its `MAX_PARAMS`).
const VTE_MAX_PARAMS: usize = 32;
/// The most parameters a sequence read by [`plain_csi`] has (more are left to vte).
const PLAIN_PARAMS: usize = 16;

/// Whether an SGR sequence leaves text grey or faint, as autosuggestions are drawn (bright
/// black, a grey of the 256-colour ramp, faint).
fn grey(params: &[u16], was: bool) -> bool {
    if params.is_empty() {
        return false; // `CSI m`: everything reset
    }
    let mut it = params.iter().copied();
    let mut grey = was;
    while let Some(p) = it.next() {
        match p {
            90 | 2 => grey = true,
            38 | 48 => match it.next() {
                Some(5) => {
                    let n = it.next();
                    if p == 38 {
                        grey = n.is_some_and(|n| n == 8 || (232..=250).contains(&n));
                    }
                }
                Some(2) => {
                    it.nth(2);
                    if p == 38 {
                        grey = false;
                    }
                }
                _ => {}
            },
            0 | 22 | 39 | 30..=37 | 91..=97 => grey = false,
            _ => {}
        }
    }
    grey
}

fn param(params: &[u16], i: usize, default: usize) -> usize {
    params
        .get(i)
        .map_or(default, |&v| if v == 0 { default } else { v as usize })
}

impl Model {
    fn row(&mut self) -> &mut Vec<char> {
        while self.rows.len() <= self.r {
            self.rows.push(Vec::new());
            self.soft.push(false);
        }
        if self.used <= self.r {
            for row in &mut self.rows[self.used..=self.r] {
                row.clear();
            }
            for soft in &mut self.soft[self.used..=self.r] {
                *soft = false;
            }
            self.used = self.r + 1;
        }
        &mut self.rows[self.r]
    }

    /// Moves a line kept in the text into the row model, before anything edits it.
    #[inline]
    fn flush_text(&mut self) {
        if self.in_text {
            self.move_text_to_rows();
        }
    }

    #[cold]
    fn move_text_to_rows(&mut self) {
        self.in_text = false;
        self.text_tabbed = false;
        let (c, r) = (self.c, self.r);
        self.r = 0;
        self.row();
        // The line's characters go straight from the text into the row (collected first,
        // they were a vector per line moved).
        let row = &mut self.rows[0];
        row.extend(self.text[self.line_start..].chars());
        self.text.truncate(self.line_start.saturating_sub(1));
        self.r = r;
        self.c = c;
    }

    fn live(&self) -> &[Vec<char>] {
        &self.rows[..self.used]
    }

    fn reset_line(&mut self) {
        self.used = 0;
        self.r = 0;
        self.c = 0;
    }

    /// Column in the logical line (soft-wrapped rows counted whole).
    fn logical_col(&self) -> usize {
        self.live().iter().take(self.r).map(Vec::len).sum::<usize>() + self.c
    }

    fn line_is_blank(&self) -> bool {
        self.live().iter().all(|r| r.iter().all(|c| *c == ' '))
    }

    /// The width at which the terminal's own wrap is followed: in input, where the editors
    /// rely on it when they redraw (busybox writes its own newlines); output lines are kept
    /// whole. A stale width (the terminal was resized) is corrected by the editors' own wrap
    /// marks (`resolve_soft_wrap`), a cursor move past it, or a redraw from a row the model
    /// does not have (`rewrap`).
    #[inline]
    fn auto_wrap(&self) -> Option<usize> {
        self.width
            .filter(|_| self.in_input && self.style != Editor::Busybox)
    }

    fn put(&mut self, ch: char) {
        // The common case: appending at the end of the row. Only input wraps at the learned
        // width (the line editor moves across its rows); output lines are kept whole.
        if self.auto_wrap().is_none() && !self.insert_mode {
            if self.r >= self.used {
                self.row();
            }
            if self.c == self.rows[self.r].len() {
                self.rows[self.r].push(ch);
                self.c += 1;
                if self.in_input {
                    self.row_input = true;
                    if !self.grey && self.r == 0 {
                        self.plain_end = self.c;
                    }
                }
                return;
            }
        }
        if let Some(w) = self.auto_wrap() {
            if self.c >= w {
                self.r = (self.r + 1).min(MAX_ROWS);
                self.c = 0;
                self.row();
                self.soft[self.r] = true;
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
        if in_input && !self.grey && self.r == 0 {
            self.plain_end = self.c;
        }
    }

    fn commit(&mut self) {
        if self.in_text {
            // Plain output already in the text: trim it and account it.
            self.in_text = false;
            if std::mem::take(&mut self.text_tabbed) {
                // As the row model commits an output line: every trailing blank trimmed, and
                // without a known editor the input flags cleared after it.
                let kept = self.text[self.line_start..].trim_end().len();
                self.text.truncate(self.line_start + kept);
                self.output_line(self.line_start);
                if self.editor == Editor::Unknown {
                    self.row_committed();
                } else {
                    self.reset_line();
                }
                return;
            }
            if self
                .text
                .as_bytes()
                .last()
                .is_some_and(u8::is_ascii_whitespace)
            {
                let kept = self.text[self.line_start..].trim_end().len();
                self.text.truncate(self.line_start + kept);
            }
            self.output_line(self.line_start);
            self.reset_line();
            return;
        }
        let input = self.row_input;
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        let start = self.text.len();
        if self.used > 0 {
            self.push_rows(0, self.used - 1, false);
        }
        if !input {
            let kept = self.text[start..].trim_end().len();
            self.text.truncate(start + kept);
            if self.editor != Editor::Unknown {
                self.output_line(start);
                self.reset_line();
                return;
            }
        }
        self.events.push(Event::Row(Row {
            start,
            end: self.text.len(),
            input,
            input_col: if input { self.input_col } else { None },
            prompt_hint: if input { self.prompt_hint } else { None },
            edited: input && self.edited,
            pasted: input && self.pasted,
            interrupted: input && self.interrupted,
            ..Row::default()
        }));
        self.row_committed();
    }

    /// After a row's event: the line and the input flags start over.
    fn row_committed(&mut self) {
        self.reset_line();
        self.clear_input_flags();
        if self.style == Editor::Busybox {
            self.in_input = false; // no end mark: the line feed ends the line
        }
    }

    fn clear_input_flags(&mut self) {
        self.row_input = false;
        self.input_col = None;
        self.prompt_hint = None;
        self.edited = false;
        self.pasted = false;
        self.interrupted = false;
        self.erased_before_lf = None;
        self.lost_wrap = None;
        self.plain_end = 0;
    }

    /// Whether row `i` of the line being drawn continues row `i - 1` (a wrap at the margin):
    /// marked so when the terminal wrapped, or when the row above is full to a known width
    /// (fish moves down itself after writing the last column).
    fn is_soft(&self, i: usize) -> bool {
        i > 0
            && i < self.used
            && (self.soft[i]
                || self
                    .width
                    .is_some_and(|w| self.rows[i - 1].len() >= w && !self.rows[i].is_empty()))
    }

    /// Appends rows `first..=last` to the text as one line.
    /// `clip`: a row a later one continues ends at the margin (anything past it was drawn
    /// before the width was known, and the terminal never showed it); busybox's rows are its
    /// own and kept whole.
    fn push_rows(&mut self, first: usize, last: usize, clip: bool) {
        for (i, row) in self.rows[first..=last].iter().enumerate() {
            let row = match self.width {
                Some(w) if clip && first + i < last && row.len() > w => &row[..w],
                _ => &row[..],
            };
            if row.iter().all(char::is_ascii) {
                // SAFETY: every byte pushed is ASCII, so the String stays valid UTF-8.
                unsafe { self.text.as_mut_vec() }.extend(row.iter().map(|&c| c as u8));
            } else {
                self.text.extend(row.iter());
            }
        }
    }

    /// Ends an input region (the editor accepted or left its line): the rows down to the
    /// cursor's line, soft-wrapped rows joined, become input lines; rows below it (a
    /// completion listing or a suggestion still on the screen) are output.
    fn end_input(&mut self) {
        self.flush_text();
        self.in_input = false;
        let blank = |row: &Vec<char>| row.iter().all(|c| *c == ' ');
        if !self.row_input || self.rows[..self.used].iter().all(blank) {
            if self.row_input {
                self.reset_line();
            }
            self.clear_input_flags();
            return;
        }
        let mut last = self.r.min(self.used - 1);
        while last + 1 < self.used && self.is_soft(last + 1) {
            last += 1;
        }
        // Blank rows at the end of the input are not lines of it.
        let mut end = last;
        while end > 0 && blank(&self.rows[end]) {
            end -= 1;
        }
        let mut cursor_on_last = false;
        let mut line_start = 0;
        let mut k = 0;
        for i in 0..=end {
            if i < end && self.is_soft(i + 1) {
                continue; // the line goes on in the next row
            }
            if !self.text.is_empty() {
                self.text.push('\n');
            }
            let start = self.text.len();
            self.push_rows(line_start, i, true);
            if k > 0 {
                let kept = self.text[start..].trim_end().len();
                self.text.truncate(start + kept);
            }
            self.events.push(Event::Row(Row {
                start,
                end: self.text.len(),
                input: true,
                input_col: if k == 0 { self.input_col } else { None },
                prompt_hint: if k == 0 { self.prompt_hint } else { None },
                edited: self.edited,
                pasted: self.pasted,
                interrupted: self.interrupted,
                continues: k > 0,
                ..Row::default()
            }));
            cursor_on_last = (line_start..=i).contains(&self.r);
            line_start = i + 1;
            k += 1;
        }
        for i in last + 1..self.used {
            if !blank(&self.rows[i]) {
                self.text.push('\n');
                let start = self.text.len();
                self.push_rows(i, i, false);
                let kept = self.text[start..].trim_end().len();
                self.text.truncate(start + kept);
                self.output_line(start);
            }
        }
        self.on_committed_row = cursor_on_last;
        self.reset_line();
        self.clear_input_flags();
    }

    /// Everything `print` does beyond appending output to its line (kept out of line so the
    /// per-character fast path stays small).
    #[inline(never)]
    fn print_slow(&mut self, ch: char) {
        if let Some(g) = self.grid.as_mut() {
            g.print(ch);
            return;
        }
        self.flush_text();
        self.crs = 0;
        self.on_committed_row = false;
        self.resolve_soft_wrap(ch);
        if self.lost_wrap.is_some() && self.r > 0 {
            self.rewrap();
        }
        if let Some(k) = self.cuf_since_cr.take() {
            // The editor moved past the prompt to draw: the smallest such move is the prompt's
            // end (fish moves to the cursor's column before every key it draws).
            if k > 0 && self.in_input && self.r == 0 {
                self.prompt_hint = Some(self.prompt_hint.map_or(k, |h| h.min(k)));
            }
        }
        if self.in_input {
            self.row_input = true;
        }
        self.put(ch);
    }

    /// An ESC-free stretch of the transcript, with vte in its ground state.
    fn ground(&mut self, parser: &mut Parser, seg: &[u8]) {
        let mut k = 0;
        while k < seg.len() {
            let b = seg[k];
            if (0x20..0x7f).contains(&b) {
                let end = k + printable_run(&seg[k..]);
                self.print_ascii(&seg[k..end]);
                k = end;
            } else if b < 0x20 {
                Perform::execute(self, b);
                k += 1;
            } else {
                // DEL and non-ASCII: vte decodes them (UTF-8, U+FFFD for invalid bytes, C1
                // controls), with the byte after them, so that a cut-off sequence resolves here.
                let end = seg[k..]
                    .iter()
                    .position(|&c| c < 0x7f)
                    .map_or(seg.len(), |p| k + p);
                let upto = (end + 1).min(seg.len());
                parser.advance(self, &seg[k..upto]);
                k = upto;
            }
        }
    }

    /// Prints a run of printable ASCII: character by character until the line is plain output
    /// kept in the text, then the rest in one copy.
    fn print_ascii(&mut self, run: &[u8]) {
        if let Some(g) = self.grid.as_mut() {
            for &b in run {
                g.print(char::from(b));
            }
            return;
        }
        let mut rest = run;
        while let Some((&first, tail)) = rest.split_first() {
            if self.in_text
                && self.crs == 0
                && !self.alt
                && !self.insert_mode
                && self.cr_after_blank.is_none()
                && self.cuf_since_cr.is_none()
            {
                // SAFETY: `ground` hands over only bytes in 0x20..0x7f (printable ASCII), so the
                // String stays valid UTF-8.
                unsafe { self.text.as_mut_vec() }.extend_from_slice(rest);
                self.c += rest.len();
                return;
            }
            if let Some(n) = self.append_to_row(rest) {
                rest = &rest[n..];
                continue;
            }
            Perform::print(self, char::from(first));
            rest = tail;
        }
    }

    /// `print`'s row-append case for a run of printable ASCII: as many characters as fit
    /// before the learned margin appended at once (`None` when the first one would take
    /// another path). Equal to printing them one by one: every character appended leaves
    /// the conditions of the case as they were.
    #[inline]
    fn append_to_row(&mut self, run: &[u8]) -> Option<usize> {
        let fresh_output_line =
            !self.in_input && !self.in_text && self.used == 0 && self.c == 0 && self.r == 0;
        if self.alt
            || self.cr_after_blank.is_some()
            || self.cuf_since_cr.is_some()
            || self.insert_mode
            || self.in_text
            || fresh_output_line
            || self.crs != 0
            || self.lost_wrap.is_some()
        {
            return None;
        }
        let room = self
            .auto_wrap()
            .map_or(usize::MAX, |w| w.saturating_sub(self.c));
        if room == 0 {
            return None;
        }
        if self.r >= self.used {
            self.row();
        }
        let row = &mut self.rows[self.r];
        if self.c != row.len() {
            return None;
        }
        let n = run.len().min(room);
        row.extend(run[..n].iter().map(|&b| char::from(b)));
        self.c += n;
        self.row_input |= self.in_input;
        if self.in_input && !self.grey && self.r == 0 {
            self.plain_end = self.c;
        }
        Some(n)
    }

    /// The carriage returns most line feeds have carried so far (2 in a `script` file, 1 in
    /// CloudWatch): busybox wraps a long input line with one more.
    fn usual_crs(&self) -> usize {
        if self.crs_seen.iter().all(|n| *n == 0) {
            return 2; // nothing seen yet: a `script` file's own `\r\r\n`
        }
        self.crs_seen
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .map_or(0, |(crs, _)| crs)
    }

    /// Records the output line `text[start..]`: into the running output block once a line
    /// editor is known, else as a row of its own (prompts are inferred from rows).
    #[inline]
    fn output_line(&mut self, start: usize) {
        let end = self.text.len();
        if self.editor == Editor::Unknown {
            self.events.push(Event::Row(Row {
                start,
                end,
                ..Row::default()
            }));
            return;
        }
        if self.editor == Editor::Busybox
            && !self.busybox_prompt.is_empty()
            && self.text.as_bytes().get(start) == self.busybox_prompt.as_bytes().first()
            && self.unmarked_busybox_prompt(start)
        {
            return;
        }
        match self.events.last_mut() {
            Some(Event::Output { end: e, lines, .. }) => {
                *e = end;
                *lines += 1;
            }
            _ => self.events.push(Event::Output {
                start,
                end,
                lines: 1,
            }),
        }
    }

    /// Joins the line under the cursor, which the model wrapped at a width the terminal no
    /// longer has, back into one row (the cursor keeps its place in it); the width is unknown.
    fn unwrap_line(&mut self) {
        let r = self.r;
        let mut first = r;
        while first > 0 && self.soft[first] {
            first -= 1;
        }
        let mut last = r;
        while last + 1 < self.used && self.soft[last + 1] {
            last += 1;
        }
        let col = self.rows[first..r].iter().map(Vec::len).sum::<usize>() + self.c;
        let line: Vec<char> = self.rows[first..=last].concat();
        self.rows[first] = line;
        let removed = last - first;
        if removed > 0 {
            self.rows.drain(first + 1..=last);
            self.soft.drain(first + 1..=last);
            self.used -= removed;
        }
        self.r = first;
        self.c = col;
        self.width = None;
    }

    /// busybox skips its cursor request when input is already waiting (typed ahead, pasted):
    /// a line starting with its last prompt is then input all the same.
    #[cold]
    fn unmarked_busybox_prompt(&mut self, start: usize) -> bool {
        let prompt = &self.busybox_prompt;
        if !self.text[start..].starts_with(prompt.as_str()) {
            return false;
        }
        let input_col = Some(prompt.chars().count());
        if let Some(Event::Row(r)) = self
            .maybe_listing
            .take()
            .and_then(|i| self.events.get_mut(i))
        {
            // The line was drawn again: the earlier one was not accepted (a completion
            // listing followed it).
            r.input = false;
        }
        self.events.push(Event::Row(Row {
            start,
            end: self.text.len(),
            input: true,
            input_col,
            inferred: true,
            ..Row::default()
        }));
        true
    }

    /// A marker line in the text for what is not kept (full-screen drawing, a cleared screen).
    fn mark(&mut self, event: Event, label: &str) {
        self.flush_text();
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(label);
        self.events.push(event);
    }

    fn start_input(&mut self, mark: Editor) {
        // The session's editor is decided by its first mark; each later mark is read in that
        // light: bash's mark comes before its prompt, at the start of a line, unless the
        // previous output did not end its line; in a zsh session a mark at the start of a
        // blank line is a program's readline (sqlite3, a nested bash).
        let editor = match (self.editor, mark) {
            (Editor::Unknown, Editor::Zle) if self.logical_col() == 0 || self.line_is_blank() => {
                Editor::Readline
            }
            (Editor::Unknown, m) => m,
            (Editor::Readline, Editor::Zle) => Editor::Readline,
            (_, m) => m,
        };
        if self.editor == Editor::Unknown {
            self.editor = editor;
        }
        self.style = editor;
        self.maybe_listing = None;
        if self.in_input && self.row_input && editor == Editor::Readline {
            self.end_input(); // the previous line was never accepted (a program's own editor)
        }
        self.on_committed_row = false;
        self.in_input = true;
        self.keypad_reset = false;
        if editor == Editor::Busybox {
            let c = self.c;
            self.busybox_prompt = self
                .live()
                .get(self.r)
                .map(|row| row[..c.min(row.len())].iter().collect())
                .unwrap_or_default();
            if self.busybox_prompt.trim().is_empty() {
                self.busybox_prompt.clear();
            }
        }
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
        let Some(blank_at) = self.cr_after_blank.take() else {
            return;
        };
        let r = self.r;
        if r >= self.used {
            return;
        }
        // Rows above in the same line that the model wrapped itself, at a width that is no
        // longer the terminal's (it was resized wider): the margin is further right.
        let mut first = r;
        while first > 0 && self.soft[first] {
            first -= 1;
        }
        let at = self.rows[first..r].iter().map(Vec::len).sum::<usize>() + blank_at;
        // At a new margin (width unknown, or changed by a resize) it may also be a redraw from
        // the line start, which starts with the row's first character again.
        let redraw = self.width != Some(at) && self.rows[r].first() == Some(&next);
        if redraw || at < 20 {
            return;
        }
        if first < r {
            let mut line: Vec<char> = self.rows[first..=r].concat();
            line.truncate(at);
            self.rows[first] = line;
            self.used = first + 1;
            self.r = first;
        } else {
            self.rows[r].truncate(blank_at);
        }
        // Learned, or learned again after the terminal was resized.
        self.width = Some(at);
        self.r = (self.r + 1).min(MAX_ROWS);
        self.c = 0;
        self.row();
        self.soft[self.r] = true;
    }

    /// zsh and fish draw one mark (`%`, `#`, `⏎`) and spaces up to the right margin before each
    /// prompt, then return: a line ending exactly there gives the terminal's width, again at
    /// every prompt (so a resize is followed).
    #[cold]
    fn margin_mark(&mut self) {
        if self.in_text && self.text_tabbed {
            self.move_text_to_rows(); // read as the row model reads it
        }
        let c = self.c;
        let (at, mark) = if self.in_text {
            // Most lines fail at once: a mark, then a blank.
            let line = &self.text[self.line_start..];
            let mark = match line.as_bytes().first() {
                Some(b'%') => '%',
                Some(b'#') => '#',
                _ if line.starts_with('⏎') => '⏎',
                _ => return,
            };
            let rest = &line[mark.len_utf8()..];
            if rest.len() < 19 || rest.bytes().any(|b| b != b' ') || rest.len() + 1 != c {
                return;
            }
            (0, mark)
        } else {
            let Some(row) = self.live().first().filter(|_| self.r == 0) else {
                return;
            };
            if row.len() != c || row.last() != Some(&' ') {
                return;
            }
            let trailing = row.iter().rev().take_while(|ch| **ch == ' ').count();
            if trailing < 19 || trailing >= row.len() {
                return;
            }
            let at = row.len() - trailing - 1;
            (at, row[at])
        };
        if !matches!(mark, '%' | '#' | '⏎') {
            return;
        }
        self.fish |= mark == '⏎';
        if at == 0 {
            self.width = Some(c);
        } else if self.width.is_some_and(|w| c > w) && !self.in_text {
            // Output that did not end its line, then the mark: the spaces wrapped, so the
            // prompt comes on a line of its own and the output stays on the one above.
            self.rows[0].truncate(at);
            self.used = 1;
            self.r = 0;
            self.commit();
        }
    }

    /// The editor moved up from what the model has as the region's top row, then down and
    /// right to column `c` of the row below to draw: it believed its cursor was there, so the
    /// terminal wrapped row 0 at (the column the model had then) - `c`. Row 0 is wrapped there
    /// and that width learned (fish relies on the terminal's wrap, before any mark told the
    /// width, or after a resize).
    #[cold]
    fn rewrap(&mut self) {
        let Some(at) = self.lost_wrap.take() else {
            return;
        };
        let w = at.saturating_sub(self.c);
        if self.r != 1 || w < 20 || self.used < 2 || self.rows[0].len() <= w {
            return;
        }
        self.width = Some(w);
        let tail = self.rows[0].split_off(w);
        let below = &mut self.rows[1];
        for (j, ch) in tail.into_iter().enumerate() {
            match below.get_mut(j) {
                Some(cell) if *cell == ' ' => *cell = ch,
                Some(_) => {}
                None => {
                    below.resize(j, ' ');
                    below.push(ch);
                }
            }
        }
        self.soft[1] = true;
    }
}

impl Perform for Model {
    #[inline(always)]
    fn print(&mut self, ch: char) {
        if ch.is_control() {
            // vte prints DEL and C1 controls (U+0080..U+009F) that a terminal ignores: they
            // must not reach a command or prompt (fuzzing found a DEL in a prompt).
            return;
        }
        // Text appended to its line, output or typed, is the bulk of any transcript: nothing
        // else to track (input wraps at a learned width, so that case takes the slow path).
        if !self.alt
            && self.cr_after_blank.is_none()
            && self.cuf_since_cr.is_none()
            && !self.insert_mode
        {
            if self.in_text && self.crs == 0 {
                self.text.push(ch);
                self.c += 1;
                return;
            }
            // A fresh output line (a carriage return before it changes nothing): keep it in the text.
            if !self.in_input && !self.in_text && self.used == 0 && self.c == 0 && self.r == 0 {
                self.crs = 0;
                self.on_committed_row = false;
                if !self.text.is_empty() {
                    self.text.push('\n');
                }
                self.line_start = self.text.len();
                self.in_text = true;
                self.text_tabbed = false;
                self.text.push(ch);
                self.c = 1;
                return;
            }
            if self.crs == 0 && self.lost_wrap.is_none() {
                if self.r >= self.used {
                    self.row();
                }
                let fits = self.auto_wrap().is_none_or(|w| self.c < w);
                let row = &mut self.rows[self.r];
                if self.c == row.len() && fits {
                    row.push(ch);
                    self.c += 1;
                    self.row_input |= self.in_input;
                    if self.in_input && !self.grey && self.r == 0 {
                        self.plain_end = self.c;
                    }
                    return;
                }
            }
        }
        self.print_slow(ch);
    }

    #[inline(always)]
    fn execute(&mut self, byte: u8) {
        // The most common controls by far, in output: a carriage return only moves the column
        // (a line kept in the text stays there unless something is printed over it), and a line
        // feed ends a plain output line.
        if !self.alt && !self.in_input && self.cr_after_blank.is_none() {
            if byte == b'\r' {
                if self.c >= 20 {
                    self.margin_mark();
                }
                self.crs += 1;
                self.cuf_since_cr = None;
                self.c = 0;
                return;
            }
            if byte == b'\n' && self.in_text {
                let crs = std::mem::take(&mut self.crs);
                self.crs_seen[crs.min(4)] += 1;
                self.cuf_since_cr = None;
                self.commit();
                return;
            }
            // A tab in a plain output line kept in the text (`ls`, `ps`, tables): blanks up to
            // the next stop, as `execute_slow` puts them, without moving the line to rows.
            if byte == b'\t'
                && self.in_text
                && self.crs == 0
                && self.cuf_since_cr.is_none()
                && !self.insert_mode
                && !self.row_input
            {
                let next = ((self.c / 8 + 1) * 8).min(MAX_COL);
                for _ in self.c..next {
                    self.text.push(' ');
                }
                self.c = self.c.max(next);
                self.text_tabbed = true;
                return;
            }
        }
        self.execute_slow(byte);
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, action: char) {
        // The model reads the first value of each parameter only.
        let mut values = [0u16; VTE_MAX_PARAMS];
        let mut n = 0;
        for p in params.iter().take(values.len()) {
            values[n] = p.first().copied().unwrap_or(0);
            n += 1;
        }
        self.csi(&values[..n], intermediates, action);
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        self.esc(intermediates, byte);
    }

    fn osc_dispatch(&mut self, _params: &[&[u8]], _bell_terminated: bool) {
        // fish sets the title before each prompt, and again when it repaints the prompt in
        // the middle of input, as after the terminal was resized: the width is unknown again
        // (until fish's next mark, or a wrap, tells it).
        if self.in_input && self.fish && !self.line_is_blank() {
            self.width = None;
        }
    }
}

impl Model {
    /// Every control but the common output ones.
    #[inline(never)]
    fn execute_slow(&mut self, byte: u8) {
        if self.alt {
            self.grid_execute(byte);
            return;
        }
        if byte != b'\n' {
            self.flush_text();
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
                let row: &[char] = self.live().get(self.r).map_or(&[], Vec::as_slice);
                let ends_blank = self.c == row.len() && self.c > 0 && row[self.c - 1] == ' ';
                let wrap_mark = ends_blank && row.iter().any(|c| *c != ' ');
                if self.in_input && wrap_mark {
                    self.cr_after_blank = Some(self.c - 1);
                }
                if self.in_input {
                    self.cuf_since_cr = Some(0);
                }
                self.c = 0;
            }
            b'\n' => {
                let crs = std::mem::take(&mut self.crs);
                let usual = self.usual_crs();
                if !self.in_input {
                    // Only lines outside input count: busybox's wraps carry one more.
                    self.crs_seen[crs.min(4)] += 1;
                }
                self.cuf_since_cr = None;
                if std::mem::take(&mut self.on_committed_row) {
                    return; // leaving the row of an input line already committed
                }
                let busybox = self.style == Editor::Busybox;
                if busybox && self.in_input && crs > usual && usual > 0 {
                    // busybox wraps a long input line with a newline of its own.
                    let len = self.live().get(self.r).map_or(0, Vec::len);
                    if len > 0 {
                        // An empty row says nothing of the width (fuzzing found a width of 0).
                        self.width.get_or_insert(len);
                    }
                    self.r = (self.r + 1).min(MAX_ROWS);
                    self.c = 0;
                    self.row();
                    self.soft[self.r] = true;
                } else if busybox
                    && self.in_input
                    && self.erased_before_lf.is_some()
                    && self.erased_before_lf == self.live().get(self.r).map(Vec::len)
                {
                    // A bell or an erase right before the line feed: busybox may be listing
                    // completions (it then draws the line again, without a cursor request) or
                    // the line was accepted. Taken as accepted until such a redraw shows up.
                    self.commit();
                    self.maybe_listing = self.events.len().checked_sub(1);
                } else if self.in_input && !busybox {
                    let ends_with_ctrl_c = self.live().get(self.r).is_some_and(|row| {
                        let t = row.iter().rposition(|c| *c != ' ').map_or(0, |p| p + 1);
                        row[..t].ends_with(&['^', 'C'])
                    });
                    if ends_with_ctrl_c {
                        // fish stays in its editor after Ctrl-C and draws a new prompt below.
                        self.end_input();
                        self.on_committed_row = false;
                        self.in_input = true;
                        self.row_input = true;
                    } else {
                        // Inside the input region a line feed only moves down a row.
                        self.r = (self.r + 1).min(MAX_ROWS);
                        self.row();
                    }
                } else if self.style == Editor::Busybox
                    && self.r > 0
                    && self.r < self.used
                    && self.width.is_some_and(|w| self.rows[self.r].len() > w)
                {
                    // A line that ended exactly at the margin: busybox's wrap was the end of the
                    // input, and this row, wider than the terminal, is output.
                    let output = std::mem::take(&mut self.rows[self.r]);
                    self.used = self.r;
                    self.commit();
                    self.row_input = false;
                    self.rows[0] = output;
                    self.used = 1;
                    self.commit();
                } else {
                    self.commit();
                }
            }
            0x07 if self.in_input && self.style == Editor::Busybox => {
                // busybox rings on an ambiguous completion, before listing the candidates.
                self.erased_before_lf = Some(self.live().get(self.r).map_or(0, Vec::len));
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
                // A tab stops at the margin: past it, putting blanks would wrap and start over
                // forever (fuzzing found that hang).
                let margin = self.auto_wrap().unwrap_or(MAX_COL);
                let next = ((self.c / 8 + 1) * 8).min(MAX_COL).min(margin);
                while self.c < next {
                    self.put(' ');
                }
            }
            _ => {}
        }
    }

    /// A control sequence: the first value of each parameter, the intermediates (a private
    /// marker such as `?` among them), the final character.
    fn csi(&mut self, params: &[u16], intermediates: &[u8], action: char) {
        self.flush_text();
        let private = intermediates.first() == Some(&b'?');
        if private && (action == 'h' || action == 'l') {
            for &p in params {
                match p {
                    2004 if self.alt => {
                        if action == 'h' {
                            let exact = self.editor == Editor::Zle
                                && self.grid.as_ref().is_some_and(|g| g.col() > 0);
                            self.grid_start_input(exact);
                        } else {
                            self.grid_end_input();
                        }
                    }
                    2004 => {
                        if action == 'h' {
                            let col = self.logical_col();
                            self.start_input(if col == 0 && self.line_is_blank() {
                                Editor::Readline
                            } else {
                                Editor::Zle
                            });
                        } else if self.in_input {
                            if self.style == Editor::Zle && self.row_input && !self.keypad_reset {
                                self.interrupted = true;
                            }
                            self.end_input();
                        }
                    }
                    1 if action == 'l' && self.in_input => self.keypad_reset = true,
                    1049 | 1047 | 47 => {
                        if action == 'h' {
                            self.enter_alt();
                        } else if self.alt {
                            self.leave_alt(false);
                        }
                    }
                    // Application cursor keys, mouse reporting: a full-screen program's modes.
                    1 | 9 | 1000..=1006 | 1015 if action == 'h' => {
                        if let Some(g) = self.grid.as_mut() {
                            g.addressed();
                        }
                    }
                    _ => {}
                }
            }
            return;
        }
        if self.alt {
            if !private {
                self.grid_csi(params, intermediates, action);
            }
            return;
        }
        if private {
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
                let n = param(params, 0, 1).min(MAX_COL);
                if self.auto_wrap().is_some_and(|w| self.c + n >= w) {
                    // A terminal stops at its margin: this one is wider than learned (resized).
                    self.width = None;
                }
                self.c = (self.c + n).min(MAX_COL);
                if let Some(k) = self.cuf_since_cr.as_mut() {
                    *k += n;
                }
            }
            'D' => {
                let n = param(params, 0, 1);
                // `r` may be past the rows drawn (a cursor move down): not a wrapped row.
                let soft = self.soft.get(self.r).copied().unwrap_or(false);
                if n > self.c && self.in_input && self.r > 0 && soft {
                    // Moving left past the start of a row the model wrapped itself: the
                    // terminal is wider than learned (resized), the line is one row there.
                    self.unwrap_line();
                }
                self.c = self.c.saturating_sub(n);
            }
            'G' | '`' => self.c = (param(params, 0, 1) - 1).min(MAX_COL),
            'A' => {
                let n = param(params, 0, 1);
                if self.in_input && self.r == 0 && self.plain_end > 20 {
                    self.lost_wrap = Some(self.plain_end);
                }
                self.r = self.r.saturating_sub(n);
            }
            'B' => {
                let n = param(params, 0, 1);
                // Moving down off a committed input row (zsh) is leaving it, as a line feed.
                let n = if std::mem::take(&mut self.on_committed_row) {
                    n - 1
                } else {
                    n
                };
                self.r = (self.r + n).min(MAX_ROWS);
            }
            'H' | 'f' => self.c = (param(params, 1, 1) - 1).min(MAX_COL),
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
                    if self.in_input && self.style == Editor::Busybox {
                        self.erased_before_lf = Some(c.min(self.row().len()));
                    }
                    let erased = self.row().iter().skip(c).any(|x| *x != ' ');
                    self.row().truncate(c);
                    self.used = self.used.min(r + 1);
                    if self.in_input && erased && self.row_input {
                        self.edited = true;
                    }
                }
                2 | 3 => {
                    if !self.line_is_blank() && !self.in_input {
                        self.commit();
                    }
                    self.reset_line();
                    if self.events.last() != Some(&Event::Clear) {
                        self.mark(Event::Clear, "[screen cleared]");
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
                let (c, n) = (self.c, param(params, 0, 1).min(MAX_COL));
                let row = self.row();
                if c <= row.len() {
                    for _ in 0..n {
                        row.insert(c, ' ');
                    }
                }
            }
            'X' => {
                let (c, n) = (self.c, param(params, 0, 1).min(MAX_COL));
                let row = self.row();
                for x in row.iter_mut().skip(c).take(n) {
                    *x = ' ';
                }
            }
            'h' | 'l' if param(params, 0, 0) == 4 => self.insert_mode = action == 'h',
            'm' if self.in_input => {
                // readline highlights a bracketed paste in reverse video
                if params.contains(&7) {
                    self.pasted = true;
                }
                self.grey = grey(params, self.grey);
            }
            _ => {}
        }
    }

    fn esc(&mut self, intermediates: &[u8], byte: u8) {
        self.flush_text();
        if !intermediates.is_empty() {
            return;
        }
        if let Some(g) = self.grid.as_mut() {
            match byte {
                b'7' => g.save(),
                b'8' => g.restore(),
                b'M' => g.reverse_index(),
                b'D' => g.line_feed(),
                b'E' => {
                    g.carriage_return();
                    g.line_feed();
                }
                b'=' => g.addressed(), // application keypad: a full-screen program
                b'c' => {
                    // A full reset leaves the alternate screen.
                    self.leave_alt(false);
                    self.mark(Event::Clear, "[screen cleared]");
                }
                _ => {}
            }
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
                self.reset_line();
                self.mark(Event::Clear, "[screen cleared]");
            }
            _ => {}
        }
    }
}

/// The alternate screen (see [`super::altgrid`]).
impl Model {
    fn enter_alt(&mut self) {
        if self.in_input && self.row_input {
            self.end_input();
        }
        self.in_input = false;
        if self.alt {
            // A program switching again on a screen a shell was left on: a new full-screen
            // program; what the shell drew before is read first.
            if let Some(g) = self.grid.as_mut() {
                g.release_plain();
            }
            self.take_grid_output();
        }
        self.alt = true;
        let mut grid = Grid::new(self.width);
        // Without a line editor's marks only line drawing tells a shell's lines there.
        grid.capture_plain = self.editor == Editor::Unknown;
        self.grid = Some(Box::new(grid));
        self.mark(Event::FullScreen, "[full-screen program]");
    }

    /// Leaves the alternate screen (`at_end`: the transcript ended on it).
    fn leave_alt(&mut self, at_end: bool) {
        if let Some(g) = self.grid.as_mut() {
            // A line being typed when the screen was left was never accepted.
            let _ = g.end_input();
            g.flush_output();
            g.release_plain();
        }
        self.take_grid_output();
        if let Some(g) = self.grid.take() {
            let last_row = g.last_row();
            self.events.push(Event::FullScreenEnd {
                inputs: g.inputs,
                last_row,
                at_end,
                line_rows: g.plain_count,
                line_drawn: g.capture_plain && g.plain,
            });
        }
        self.alt = false;
        self.reset_line();
    }

    /// Output lines the grid has read: into the text, after what came before.
    fn take_grid_output(&mut self) {
        let plain = self
            .grid
            .as_mut()
            .map(|g| std::mem::take(&mut g.plain_rows))
            .unwrap_or_default();
        for line in plain {
            // Lines a shell without marks drew there: rows for prompts to be inferred from.
            if !self.text.is_empty() {
                self.text.push('\n');
            }
            let start = self.text.len();
            self.text.push_str(&line);
            self.events.push(Event::Row(Row {
                start,
                end: self.text.len(),
                alt_screen: true,
                ..Row::default()
            }));
        }
        let Some(lines) = self.grid.as_mut().map(|g| std::mem::take(&mut g.output)) else {
            return;
        };
        for line in lines {
            if !self.text.is_empty() {
                self.text.push('\n');
            }
            let start = self.text.len();
            self.text.push_str(&line);
            self.output_line(start);
        }
    }

    fn grid_start_input(&mut self, exact: bool) {
        if let Some(g) = self.grid.as_mut() {
            g.start_input(exact);
        }
        self.take_grid_output();
    }

    /// The editor accepted a line on the alternate screen. Of the lines read since the last
    /// one, those starting with something shaped like a prompt are input, and the last one
    /// (the line accepted) is offered as input too; the others are output. Reconstruction
    /// keeps only lines at the shell's own prompt (a program's screen, e.g. vi switching
    /// bracketed paste on and off, has none).
    fn grid_end_input(&mut self) {
        let Some(GridInput { lines, input_col }) = self.grid.as_mut().and_then(|g| g.end_input())
        else {
            return;
        };
        let n = lines.len();
        for (k, line) in lines.into_iter().enumerate() {
            let prompt_shaped = first_terminator(&line)
                .is_some_and(|end| end <= 96 && prompt_like(&line[..end]) && end < line.len());
            if !self.text.is_empty() {
                self.text.push('\n');
            }
            let start = self.text.len();
            self.text.push_str(&line);
            if prompt_shaped || k + 1 == n {
                if prompt_shaped {
                    if let Some(g) = self.grid.as_mut() {
                        g.shell_seen = true;
                        g.inputs += 1;
                    }
                }
                self.events.push(Event::Row(Row {
                    start,
                    end: self.text.len(),
                    input: true,
                    input_col: if k + 1 == n { input_col } else { None },
                    alt_screen: true,
                    ..Row::default()
                }));
            } else {
                self.output_line(start);
            }
        }
    }

    fn grid_execute(&mut self, byte: u8) {
        let busybox_input = self.editor == Editor::Busybox;
        let Some(g) = self.grid.as_mut() else {
            return;
        };
        match byte {
            b'\r' => g.carriage_return(),
            b'\n' | 0x0b | 0x0c => {
                if busybox_input {
                    // busybox has no end mark: its line feed ends the line.
                    self.grid_end_input();
                }
                if let Some(g) = self.grid.as_mut() {
                    g.line_feed();
                }
            }
            0x08 => g.backspace(),
            b'\t' => g.tab(),
            _ => {}
        }
    }

    fn grid_csi(&mut self, params: &[u16], intermediates: &[u8], action: char) {
        if action == 'n' && param(params, 0, 0) == 6 && self.editor == Editor::Busybox {
            self.grid_start_input(true);
            return;
        }
        let Some(g) = self.grid.as_mut() else {
            return;
        };
        if !intermediates.is_empty() {
            return;
        }
        let n = param(params, 0, 1);
        match action {
            'A' => g.up(n),
            'B' | 'e' => g.down(n),
            'C' | 'a' => g.right(n),
            'D' => g.left(n),
            'E' => {
                g.down(n);
                g.carriage_return();
            }
            'F' => {
                g.up(n);
                g.carriage_return();
            }
            'G' | '`' => g.goto_col(n - 1),
            'd' => g.goto_row(n - 1),
            'H' | 'f' => g.goto(param(params, 0, 1) - 1, param(params, 1, 1) - 1),
            'J' => g.erase_display(param(params, 0, 0)),
            'K' => g.erase_line(param(params, 0, 0)),
            '@' => g.insert_chars(n),
            'P' => g.delete_chars(n),
            'X' => g.erase_chars(n),
            'L' => g.insert_lines(n),
            'M' => g.delete_lines(n),
            'S' => g.scroll(true, n),
            'T' => g.scroll(false, n),
            'r' => g.set_region(param(params, 0, 0), param(params, 1, 0)),
            's' => g.save(),
            'u' => g.restore(),
            'h' | 'l' if param(params, 0, 0) == 4 => g.set_insert(action == 'h'),
            _ => {}
        }
    }
}

/// A control sequence read by [`plain_csi`].
struct PlainCsi {
    /// Its length in bytes.
    len: usize,
    /// The private marker (`?`, `>`, `=`, `<`) after `CSI`, which vte hands over as an
    /// intermediate.
    marker: Option<u8>,
    /// How many parameters.
    params: usize,
    /// The final byte.
    action: u8,
}

/// The sequence at the start of `bytes` (`bytes[0]` is ESC) when it is `CSI`, an optional
/// private marker, parameters of digits and `;` (at most [`PLAIN_PARAMS`]) and a final byte,
/// with the parameters' values in `params` as vte reads them (an empty one is 0, a large one
/// saturates). Anything else (intermediates, sub-parameters, controls inside, a marker after
/// the first byte, an unfinished sequence) is `None`, for vte.
#[inline]
fn plain_csi(bytes: &[u8], params: &mut [u16; PLAIN_PARAMS]) -> Option<PlainCsi> {
    if bytes.get(1) != Some(&b'[') {
        return None;
    }
    let mut i = 2;
    let marker = match bytes.get(i) {
        Some(&b @ 0x3c..=0x3f) => {
            i += 1;
            Some(b)
        }
        _ => None,
    };
    let mut n = 0;
    let mut value: u16 = 0;
    loop {
        let b = *bytes.get(i)?;
        i += 1;
        match b {
            b'0'..=b'9' => {
                value = value.saturating_mul(10).saturating_add(u16::from(b - b'0'));
            }
            b';' => {
                if n + 1 >= PLAIN_PARAMS {
                    return None;
                }
                params[n] = value;
                n += 1;
                value = 0;
            }
            0x40..=0x7e => {
                params[n] = value;
                return Some(PlainCsi {
                    len: i,
                    marker,
                    params: n + 1,
                    action: b,
                });
            }
            _ => return None,
        }
    }
}

/// The length of the escape sequence at the start of `bytes` (`bytes[0]` is ESC), following
/// vte's state machine: after these bytes vte is back in its ground state. Stopping later than
/// vte would be harmless (vte reads the extra bytes as text), stopping earlier would not, so
/// every state vte has is mirrored. An unfinished sequence at the end takes the rest.
fn sequence_len(bytes: &[u8]) -> usize {
    #[derive(Clone, Copy)]
    enum S {
        Escape,
        Intermediate,
        Csi,
        Osc,
        /// DCS, SOS, PM, APC: until ESC (then `\\`) or CAN/SUB.
        Str,
    }
    let mut s = S::Escape;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        match b {
            0x18 | 0x1a => return i + 1, // CAN, SUB: abort to ground, anywhere
            0x1b => {
                s = S::Escape; // a new escape, anywhere (it also ends OSC and DCS strings)
                continue;
            }
            _ => {}
        }
        s = match s {
            S::Escape => match b {
                0x20..=0x2f => S::Intermediate,
                0x5b => S::Csi,
                0x5d => S::Osc,
                0x50 | 0x58 | 0x5e | 0x5f => S::Str,
                0x30..=0x7e => return i + 1,
                _ => S::Escape, // C0 executed in place; DEL and high bytes ignored
            },
            S::Intermediate => match b {
                0x30..=0x7e => return i + 1,
                _ => S::Intermediate,
            },
            S::Csi => match b {
                0x40..=0x7e => return i + 1,
                _ => S::Csi,
            },
            S::Osc => match b {
                0x07 => return i + 1,
                _ => S::Osc,
            },
            S::Str => S::Str,
        };
    }
    bytes.len()
}

/// What the model made of a transcript body.
#[derive(Debug, Default)]
pub struct Drawn {
    pub events: Vec<Event>,
    /// Every line as a person saw it, `\n`-separated; rows point into it.
    pub text: String,
    pub editor: Editor,
    pub width: Option<usize>,
    /// fish's mark for unterminated output was seen: fish drew the prompts.
    pub fish: bool,
}

impl Model {
    /// Ends the transcript: the line being drawn is committed, a line typed and never
    /// submitted is an interrupted input.
    fn finish(mut self) -> Drawn {
        self.flush_text();
        if self.alt {
            self.leave_alt(true);
        }
        if self.in_input && self.row_input && !self.line_is_blank() {
            self.interrupted = true;
            if self.style == Editor::Busybox {
                self.commit();
            } else {
                self.end_input();
            }
        } else if !self.line_is_blank() {
            self.commit();
        }
        Drawn {
            events: self.events,
            text: self.text,
            editor: self.editor,
            width: self.width,
            fish: self.fish,
        }
    }
}

/// The length of the run of printable ASCII (0x20..0x7f) that `s` starts with, eight bytes at
/// a time while no byte in them is outside the range.
#[inline]
fn printable_run(s: &[u8]) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        // A byte >= 0x80; a byte < 0x20 (exact as a test of "any": a borrow starts only at
        // such a byte); a byte equal to 0x7f (zero after the xor).
        let del = x ^ (0x7f * LOW);
        let odd = (x & HIGH)
            | (x.wrapping_sub(0x20 * LOW) & !x & HIGH)
            | (del.wrapping_sub(LOW) & !del & HIGH);
        if odd != 0 {
            break;
        }
        i += 8;
    }
    i + s[i..]
        .iter()
        .position(|c| !(0x20..0x7f).contains(c))
        .unwrap_or(s.len() - i)
}

/// Runs the terminal model over a transcript body (without the `script` header and footer).
pub fn draw(body: &[u8]) -> Drawn {
    let mut parser = Parser::new();
    // The text is about as long as the body: reserving it once saves copying it as it grows.
    let mut model = Model {
        text: String::with_capacity(body.len()),
        events: Vec::with_capacity(body.len() / 256),
        ..Model::default()
    };
    // vte's ground state is plain text up to the next ESC: C0 controls execute, everything else
    // prints, and only an ESC leaves it. So the driver walks ESC-free segments itself, handing
    // runs of printable ASCII to the model in bulk (per-character callbacks were most of the
    // cost) and only escape sequences, and non-ASCII text, to vte.
    let mut i = 0;
    let mut params = [0u16; PLAIN_PARAMS];
    // vte may hold the start of a character cut off by the escape (it prints U+FFFD for it
    // before the sequence): then the sequence goes through vte.
    let mut vte_holds = false;
    while i < body.len() {
        if body[i] == 0x1b {
            // Most sequences are plain `CSI` ones (cursor moves, erases, colours, modes): read
            // here, without vte's state machine (which was a tenth of drawing).
            if let Some(csi) = plain_csi(&body[i..], &mut params).filter(|_| !vte_holds) {
                let marker = csi.marker.as_slice();
                model.csi(&params[..csi.params], marker, char::from(csi.action));
                i += csi.len;
                continue;
            }
            let n = sequence_len(&body[i..]);
            parser.advance(&mut model, &body[i..i + n]);
            vte_holds = false;
            i += n;
        } else {
            let end = memchr::memchr(0x1b, &body[i..]).map_or(body.len(), |k| i + k);
            model.ground(&mut parser, &body[i..end]);
            // `ground` hands DEL and non-ASCII to vte with the byte after them, if any.
            vte_holds = body[end - 1] >= 0x7f;
            i = end;
        }
    }
    model.finish()
}

/// The reference for [`draw`]: every byte through vte, without the driver's bulk paths. Tests
/// and the fuzz target check that both draw the same.
#[doc(hidden)]
pub fn draw_reference(body: &[u8]) -> Drawn {
    let mut parser = Parser::new();
    let mut model = Model::default();
    parser.advance(&mut model, body);
    model.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_runs_end_where_a_byte_by_byte_scan_ends() {
        let naive = |s: &[u8]| {
            s.iter()
                .position(|c| !(0x20..0x7f).contains(c))
                .unwrap_or(s.len())
        };
        // Every byte value at every position of runs around the 8-byte steps.
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(printable_run(&s), naive(&s), "{s:?}");
                }
            }
        }
        for s in [
            &b"~~~~~~~~\x7f"[..],
            b"        \x1f",
            b"abcdefgh\xc3\xa9",
            b" !~ !~ !~ !~\x7f",
        ] {
            assert_eq!(printable_run(s), naive(s), "{s:?}");
        }
    }

    /// Lines with their rows (output blocks expanded into plain output rows).
    fn rows(body: &[u8]) -> Vec<(String, Row)> {
        let d = draw(body);
        let mut out = Vec::new();
        for e in d.events {
            match e {
                Event::Row(r) => out.push((d.text[r.start..r.end].trim_end().to_owned(), r)),
                Event::Output { start, end, .. } => out.extend(
                    d.text[start..end]
                        .split('\n')
                        .map(|l| (l.to_owned(), Row::default())),
                ),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn backspace_and_erase_edit_the_line() {
        let r = rows(b"\x1b[?2004hroot@vm:/# ehco\x08\x1b[K\x08\x1b[K\x08\x1b[Kcho fixed\r\r\n\x1b[?2004l\rfixed\r\r\n");
        assert_eq!(r[0].0, "root@vm:/# echo fixed");
        assert!(r[0].1.input && r[0].1.edited);
        assert_eq!(r[1].0, "fixed");
        assert!(!r[1].1.input);
    }

    #[test]
    fn readline_redraw_reveals_the_prompt_length() {
        let r = rows(b"\x1b[?2004hroot@vm:/# echo wrong\r\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x1b[Kecho right\r\r\n");
        assert_eq!(r[0].0, "root@vm:/# echo right");
        assert_eq!(r[0].1.prompt_hint, Some(11));
    }

    #[test]
    fn bash_soft_wrap_teaches_the_width() {
        let d =
            draw(b"\x1b[?2004hroot@vm:/# echo xxxxxxxxxxxxxxxxxxxxxxxx \rxxxx\x08\x1b[Kyy\r\r\n");
        assert_eq!(d.width, Some(40));
        let Event::Row(r) = &d.events[0] else {
            panic!()
        };
        assert_eq!(
            &d.text[r.start..r.end],
            "root@vm:/# echo xxxxxxxxxxxxxxxxxxxxxxxxxxxyy"
        );
    }

    #[test]
    fn marks_after_the_prompt_give_the_exact_input_column() {
        let zle = rows(b"vm# \x1b[K\x1b[?1h\x1b=\x1b[?2004hls\x1b[?1l\x1b>\x1b[?2004l\r\r\r\n");
        assert_eq!((zle[0].0.as_str(), zle[0].1.input_col), ("vm# ls", Some(4)));
        let ash = rows(b"/ # \x1b[6nid\r\r\nuid=0(root)\r\r\n");
        assert_eq!((ash[0].1.input_col, ash[0].1.input), (Some(4), true));
        assert!(!ash[1].1.input);
    }

    #[test]
    fn alternate_screen_drawing_is_not_kept() {
        let d = draw(b"$ \x1b[6nless x\r\n\x1b[?1049hSECRET SCREEN\r\n\x1b[?1049l$ \x1b[6nid\r\n");
        assert!(d.events.contains(&Event::FullScreen));
        let texts: Vec<&str> = d
            .events
            .iter()
            .filter_map(|e| {
                if let Event::Row(r) = e {
                    Some(d.text[r.start..r.end].trim_end())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(texts, ["$ less x", "$ id"]);
        assert!(!d.text.contains("SECRET SCREEN"));
        assert_eq!(d.text.trim_end(), "$ less x\n[full-screen program]\n$ id");
    }

    #[test]
    fn busybox_input_ending_at_the_margin_keeps_its_output_apart() {
        // A 40-column busybox session: the first line wraps (one CR more than a plain newline),
        // the second ends exactly at the margin, so busybox's wrap newline is also the Enter,
        // and the output that follows is wider than the terminal.
        let body = b"/ # \x1b[6necho xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\r\r\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\r\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\r\n/ # \x1b[6nexit\r\r\n";
        let r = rows(body);
        let texts: Vec<&str> = r.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "/ # echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
                "/ # exit"
            ]
        );
        assert!(r[0].1.input && !r[1].1.input && r[2].1.input);
    }

    #[test]
    fn escape_sequences_end_where_vte_ends_them() {
        // (sequence, what follows it): the length found is the sequence's own.
        let cases: &[(&[u8], &[u8])] = &[
            (b"\x1b[?2004h", b"root"),
            (b"\x1b[1;32m", b"x"),
            (b"\x1b]0;user@host: ~\x07", b"$ "),
            (b"\x1b]0;title\x1b\\", b"$ "),
            (b"\x1b=", b"x"),
            (b"\x1b(B", b"x"),
            (b"\x1b[12\x18", b"abc"), // CAN aborts the sequence
            (b"\x1b[1\x1b[2J", b"x"), // an ESC starts over
            (b"\x1bP1$r\x1b\\", b"x"),
            (b"\x1b[1\r\n5C", b"x"), // controls inside a CSI run in place
        ];
        for (seq, after) in cases {
            assert_eq!(sequence_len(&[*seq, *after].concat()), seq.len(), "{seq:?}");
        }
        assert_eq!(sequence_len(b"\x1b[?20"), 5); // cut off: all of it
    }

    #[test]
    fn bulk_text_and_escapes_draw_as_vte_alone_would() {
        // The same bytes through vte byte by byte give the same screen lines as the driver.
        let body: &[u8] = b"\x1b]0;root@vm: /\x07\x1b[?2004hroot@vm:/# echo h\xc3\xa9llo \xff\xfe\x1b[1;31mred\x1b[0m\r\r\n\x1b[?2004l\rh\xc3\xa9llo\r\r\nline\twith\ttabs\x7f\r\nprogress 10%\rprogress 20%\r\n";
        let mut parser = Parser::new();
        let mut reference = Model::default();
        for b in body {
            parser.advance(&mut reference, std::slice::from_ref(b));
        }
        let reference = reference.finish();
        let d = draw(body);
        assert_eq!(d.text, reference.text);
        assert_eq!(d.events, reference.events);
    }

    fn draw_with_vte_only(body: &[u8]) -> (String, Vec<Event>) {
        let d = draw_reference(body);
        (d.text, d.events)
    }

    #[test]
    fn driver_matches_vte_on_every_transcript_we_have() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for dir in [
            "tests/transcripts/cases",
            "tests/transcripts/classes",
            "sample-data/exec-logs",
            "tests/data/bad-transcripts",
            "tests/data/examples",
        ] {
            for entry in walkdir::WalkDir::new(root.join(dir))
                .into_iter()
                .filter_map(Result::ok)
            {
                if entry.path().extension().is_none_or(|e| e != "log") {
                    continue;
                }
                let bytes = std::fs::read(entry.path()).unwrap();
                let d = draw(&bytes);
                let (text, events) = draw_with_vte_only(&bytes);
                assert_eq!(d.text, text, "{}", entry.path().display());
                assert_eq!(d.events, events, "{}", entry.path().display());
                checked += 1;
            }
        }
        assert!(checked > 150, "{checked}");
    }

    /// What vte hands to `csi_dispatch`: (first value of each parameter, intermediates, final).
    #[derive(Default)]
    struct Seen(Vec<(Vec<u16>, Vec<u8>, char)>);

    impl Perform for Seen {
        fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _: bool, action: char) {
            let firsts = params.iter().map(|p| p[0]).collect();
            self.0.push((firsts, intermediates.to_vec(), action));
        }
    }

    #[test]
    fn plain_control_sequences_read_as_vte_reads_them() {
        let mut cases: Vec<Vec<u8>> = [
            &b"\x1b[K"[..],
            b"\x1b[m",
            b"\x1b[0m",
            b"\x1b[1;31m",
            b"\x1b[;5H",
            b"\x1b[5;H",
            b"\x1b[;;m",
            b"\x1b[?2004h",
            b"\x1b[?h",
            b"\x1b[?1049;1h",
            b"\x1b[>c",
            b"\x1b[=5u",
            b"\x1b[<0;1;2M",
            b"\x1b[65535C",
            b"\x1b[65536C",
            b"\x1b[99999999999999999999D",
            b"\x1b[0000007m",
            b"\x1b[38;5;240m",
            b"\x1b[38:5:240m",
            b"\x1b[?1;?2h",
            b"\x1b[1?h",
            b"\x1b[ q",
            b"\x1b[2 q",
            b"\x1b[1\x08C",
            b"\x1b[1\x7fC",
            b"\x1b[1\xc3C",
            b"\x1b[12",
            b"\x1b[",
            b"\x1b",
            b"\x1b]0;title\x07",
            b"\x1b(B",
            b"\x1b[~",
            b"\x1b[@",
        ]
        .iter()
        .map(|c| c.to_vec())
        .collect();
        for n in [14, 15, 16, 17, 31, 32, 33, 40] {
            let mut c = b"\x1b[".to_vec();
            c.extend(
                (1..=n)
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(";")
                    .bytes(),
            );
            c.push(b'm');
            cases.push(c);
            let mut c = b"\x1b[".to_vec();
            c.extend(std::iter::repeat_n(b';', n));
            c.push(b'm');
            cases.push(c);
        }
        let mut read = 0;
        for case in &cases {
            // Read here or by vte, a screen of them draws as vte alone draws it.
            let mut body = b"\x1b[?2004h$ ls".to_vec();
            body.extend_from_slice(case);
            body.extend_from_slice(b"x\r\r\nout\r\n");
            let d = draw(&body);
            assert_eq!((d.text, d.events), draw_with_vte_only(&body), "{case:?}");
            let mut seen = Seen::default();
            Parser::<1024>::new().advance(&mut seen, case);
            let mut params = [0u16; PLAIN_PARAMS];
            let Some(csi) = plain_csi(case, &mut params) else {
                continue;
            };
            read += 1;
            assert_eq!(csi.len, case.len(), "{case:?}");
            assert_eq!(seen.0.len(), 1, "{case:?}");
            let (firsts, intermediates, action) = &seen.0[0];
            assert_eq!(&params[..csi.params], &firsts[..], "{case:?}");
            assert_eq!(csi.marker.as_slice(), &intermediates[..], "{case:?}");
            assert_eq!(char::from(csi.action), *action, "{case:?}");
        }
        assert!(read >= 25, "{read}");
        assert!(plain_csi(b"\x1b[1:2m", &mut [0; PLAIN_PARAMS]).is_none());
        assert!(plain_csi(b"\x1b[ q", &mut [0; PLAIN_PARAMS]).is_none());
    }

    #[test]
    fn a_character_cut_off_by_a_sequence_is_replaced_before_it() {
        // vte holds the first byte of `é` and prints U+FFFD for it when the sequence comes:
        // the sequence read without vte would come first.
        for body in [
            &b"$ ab\xc3\x1b[D\x1b[Kc\r\n"[..],
            b"out\xc3\x1b[1;31mred\x1b[m\r\n",
            b"\x1b[?2004h$ x\xe2\x82\x1b[Cy\r\r\n\x1b[?2004l\r",
        ] {
            let d = draw(body);
            assert_eq!((d.text, d.events), draw_with_vte_only(body), "{body:?}");
        }
    }

    #[test]
    fn tabs_in_output_put_blanks_to_the_next_stop() {
        // Output lines with tabs (`ls`, `ps`, tables), before and after marked input, and in
        // a session without marks (where output rows are candidates for prompts).
        let cases: [(&[u8], &[&str]); 3] = [
            (
                b"\x1b[?2004h$ ls\r\r\n\x1b[?2004l\ra\tbb\tccccccccc\td\r\n\tx\t\r\n1234567\t8\r\nab\tcd\rZ\r\n\x1b[?2004h$ ",
                &[
                    "$ ls",
                    "a       bb      ccccccccc       d",
                    "        x",
                    "1234567 8",
                    "Zb      cd",
                    "$",
                ],
            ),
            (
                b"$ ps\r\nPID\tCMD\r\n1\tinit\t\t\r\n$ exit\r\n",
                &["$ ps", "PID     CMD", "1       init", "$ exit"],
            ),
            (
                b"\x1b[?2004h$ x\r\r\n\x1b[?2004l\rcol\t\x1b[1mbold\x1b[0m\tend\x08\x08X\r\n",
                &["$ x", "col     bold    eXd"],
            ),
        ];
        for (body, want) in cases {
            let got: Vec<String> = rows(body).into_iter().map(|(t, _)| t).collect();
            assert_eq!(got, want, "{body:?}");
        }
    }

    #[test]
    fn a_line_with_a_tab_ends_as_the_row_model_ends_it() {
        // Trailing blanks of any kind trimmed (a line without a tab, kept in the text, loses
        // only ASCII ones).
        let d = draw("x\tb\u{a0}\r\nno tab\u{a0}\r\n".as_bytes());
        assert_eq!(d.text, "x       b\nno tab\u{a0}");
        // zsh's margin mark after output that did not end its line, once the width is known:
        // the output keeps its line, the prompt gets its own.
        let mut body = b"%".to_vec();
        body.extend([b' '; 39]);
        body.extend(b"\r\nab\tc%");
        body.extend([b' '; 40]);
        body.extend(b"\r$ x\r\n");
        let got: Vec<String> = rows(&body).into_iter().map(|(t, _)| t).collect();
        assert_eq!(got, ["%", "ab      c", "$ x"]);
    }

    #[test]
    fn del_and_c1_controls_print_nothing() {
        // Found by fuzzing: vte prints them, a terminal does not.
        let d = draw(b"$ \x7f\x7fid\xc2\x85\xc2\x9b\r\nout\x7f\r\n");
        assert_eq!(d.text, "$ id\nout");
    }

    #[test]
    fn a_busybox_newline_on_an_empty_row_teaches_no_width() {
        let d = draw(b"/ # \x1b[6n\r\x1b[K\r\r\r\nid\r\r\n");
        assert_eq!(d.width, None);
    }

    #[test]
    fn a_tab_at_the_margin_of_a_learned_width_stops_there() {
        // Found by fuzzing (a hang): bash teaches 40 columns, then tabs at the margin.
        let d = draw(b"\x1b[?2004h$ xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \rx\t\t\t\t\t\ty\r\r\n\x1b[?2004l\r");
        assert_eq!(d.width, Some(40));
        assert!(d.text.ends_with('y'), "{:?}", d.text);
    }

    #[test]
    fn moving_left_on_a_row_below_the_drawn_ones_does_not_panic() {
        // Found by fuzzing: a cursor move down in input, then left past the column.
        let d = draw(b"\x1b[?2004h$ x\x1b[B\x1b[9Dy\r\r\n\x1b[?2004l\r");
        assert!(d
            .events
            .iter()
            .any(|e| matches!(e, Event::Row(r) if r.input)));
    }

    #[test]
    fn invalid_utf8_and_binary_do_not_break_the_model() {
        let r = rows(b"out \xff\xfe\x00\x01 bin\r\n$ \x1b[6nid\r\n");
        assert!(r[0].0.contains('\u{fffd}'));
        assert_eq!(r[1].0, "$ id");
    }
}
