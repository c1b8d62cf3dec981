//! The alternate screen as a grid of cells, for what is typed while a program holds it.
//!
//! A full-screen program (vi, less, top) draws on the alternate screen with absolute cursor
//! moves; what it draws is not kept. But the alternate screen can also host a shell: one that
//! was left there (`printf '\e[?1049h'` at the prompt, a program killed before it switched
//! back) or one inside a terminal multiplexer (tmux, screen), which redraws its panes with
//! cursor moves, scroll regions and a status line. The shell's input marks still arrive, so
//! this grid follows the drawing (cursor addressing, scroll regions, erase, insert and delete)
//! and, when the editor accepts a line, reads the rows it was drawn on. Rows that scroll off
//! the top, and rows above each new prompt, are that shell's output.
//!
//! A shell without input marks (dash) left on the alternate screen draws there as on the main
//! screen: its prompt, the terminal's echo, output, CR LF; nothing moves the cursor up or to
//! an address. A full-screen program does: cursor addressing, vertical moves, scroll regions,
//! inserted and deleted lines, application keypad or mouse modes, usually before it draws
//! anything. So while a session's editor is unknown, rows drawn line by line are handed back
//! as screen lines (prompts are inferred from them like anywhere else) until the first sign
//! of a program (what was drawn before it is handed back too); what is drawn after it stays
//! out. A home-and-clear (`clear`) is neither: the rows before it are handed back and line
//! drawing goes on.
//!
//! The grid's size is not in the transcript: rows are added as the cursor reaches them (up to
//! a cap, then the screen scrolls), a scroll region or cursor address past the last row grows
//! it, and the width is the one learned on the main screen (else the widest row drawn).

/// The most rows kept; past it the grid scrolls.
const MAX_HEIGHT: usize = 512;
/// Columns are clamped here, as a terminal clamps to its width.
const MAX_WIDTH: usize = 4096;

/// A line read from the grid when the shell's editor accepted it.
#[derive(Debug, Clone, PartialEq)]
pub struct GridInput {
    /// The lines read, oldest first; the last is the accepted input.
    pub lines: Vec<String>,
    /// Where the input began on its first row (after the prompt), when the mark followed the
    /// prompt (zsh, busybox).
    pub input_col: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Grid {
    rows: Vec<Vec<char>>,
    /// Row `i` continues row `i - 1` (the terminal wrapped at the margin).
    wrapped: Vec<bool>,
    width: Option<usize>,
    r: usize,
    c: usize,
    top: usize,
    /// Bottom of the scroll region (inclusive); `None`: the whole screen, however tall.
    bottom: Option<usize>,
    saved: (usize, usize),
    insert: bool,
    /// Where the editor's input began (row, column, column is exact), while it reads.
    input: Option<(usize, usize, bool)>,
    /// Rows below this one have not been read as output yet.
    unread_from: usize,
    /// A shell's input was accepted here: what scrolls away or sits above a prompt is output.
    pub shell_seen: bool,
    /// Lines accepted as input so far.
    pub inputs: usize,
    /// Output lines waiting to be taken by the model.
    pub output: Vec<String>,
    /// Hand back rows drawn line by line (the session's shell marks no input: see the module
    /// header).
    pub capture_plain: bool,
    /// Only line-oriented drawing so far on this screen.
    pub plain: bool,
    /// Rows drawn line by line, waiting to be taken by the model, and how many were so far.
    pub plain_rows: Vec<String>,
    pub plain_count: usize,
}

impl Grid {
    pub fn new(width: Option<usize>) -> Self {
        Grid {
            width,
            plain: true,
            ..Grid::default()
        }
    }

    /// A full-screen program's drawing (cursor addressing, a vertical move, a scroll region,
    /// a program's keypad or mouse mode): what was drawn line by line before it is handed
    /// back, nothing after it.
    pub fn addressed(&mut self) {
        if self.plain {
            self.release_plain();
            self.plain = false;
        }
    }

    /// Hands back the rows drawn line by line that were not yet (wrapped rows joined, blank
    /// rows at the end left out).
    pub fn release_plain(&mut self) {
        if !(self.capture_plain && self.plain) {
            return;
        }
        let mut lines: Vec<String> = Vec::new();
        for r in self.unread_from..self.height() {
            let t: String = self.rows[r].iter().collect();
            match lines.last_mut() {
                Some(prev) if self.wrapped[r] => prev.push_str(&t),
                _ => lines.push(t),
            }
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        self.plain_count += lines.len();
        self.plain_rows
            .extend(lines.into_iter().map(|l| l.trim_end().to_owned()));
        self.unread_from = self.height();
    }

    /// The cursor's column.
    pub fn col(&self) -> usize {
        self.c
    }

    fn height(&self) -> usize {
        self.rows.len()
    }

    fn ensure_row(&mut self, r: usize) {
        let r = r.min(MAX_HEIGHT - 1);
        while self.rows.len() <= r {
            self.rows.push(Vec::new());
            self.wrapped.push(false);
        }
    }

    fn bottom(&self) -> usize {
        self.bottom.unwrap_or(MAX_HEIGHT - 1)
    }

    fn row_text(&self, r: usize) -> String {
        self.rows
            .get(r)
            .map(|row| row.iter().collect::<String>().trim_end().to_owned())
            .unwrap_or_default()
    }

    /// Scrolls the region up by `n`: its top rows leave (read as output when they were not).
    fn scroll_up(&mut self, n: usize) {
        let (top, bottom) = (self.top, self.bottom().min(self.height().saturating_sub(1)));
        for _ in 0..n {
            if top > bottom || bottom >= self.rows.len() {
                return;
            }
            if self.shell_seen && top >= self.unread_from && self.input.is_none_or(|i| i.0 != top) {
                let t = self.row_text(top);
                if !t.is_empty() {
                    self.output.push(t);
                }
            } else if self.capture_plain && self.plain && top >= self.unread_from {
                self.plain_count += 1;
                self.plain_rows.push(self.row_text(top));
            }
            self.rows.remove(top);
            self.wrapped.remove(top);
            self.rows.insert(bottom, Vec::new());
            self.wrapped.insert(bottom, false);
            if top == 0 || self.unread_from > top {
                self.unread_from = self.unread_from.saturating_sub(1).max(top);
            }
            if let Some(i) = self.input.as_mut() {
                if i.0 > top && i.0 <= bottom {
                    i.0 -= 1;
                }
            }
        }
    }

    fn scroll_down(&mut self, n: usize) {
        let (top, bottom) = (self.top, self.bottom().min(self.height().saturating_sub(1)));
        for _ in 0..n {
            if top > bottom || bottom >= self.rows.len() {
                return;
            }
            self.rows.remove(bottom);
            self.wrapped.remove(bottom);
            self.rows.insert(top, Vec::new());
            self.wrapped.insert(top, false);
        }
    }

    /// Line feed: down a row, scrolling at the bottom of the region (or of the grid's cap).
    pub fn line_feed(&mut self) {
        if self.r == self.bottom() || self.r + 1 >= MAX_HEIGHT {
            self.ensure_row(self.r);
            self.scroll_up(1);
        } else {
            self.r += 1;
            self.ensure_row(self.r);
        }
    }

    pub fn reverse_index(&mut self) {
        self.addressed();
        if self.r == self.top {
            self.scroll_down(1);
        } else {
            self.r = self.r.saturating_sub(1);
        }
    }

    #[inline]
    pub fn print(&mut self, ch: char) {
        // The common case: appending to the row.
        if !self.insert && self.width.is_none_or(|w| self.c < w) {
            if let Some(row) = self.rows.get_mut(self.r) {
                if self.c == row.len() && self.c < MAX_WIDTH {
                    row.push(ch);
                    self.c += 1;
                    return;
                }
            }
        }
        self.print_slow(ch);
    }

    fn print_slow(&mut self, ch: char) {
        if let Some(w) = self.width {
            if self.c >= w {
                self.c = 0;
                self.line_feed();
                self.ensure_row(self.r);
                self.wrapped[self.r] = true;
            }
        }
        self.ensure_row(self.r);
        let (c, insert) = (self.c.min(MAX_WIDTH - 1), self.insert);
        let row = &mut self.rows[self.r.min(MAX_HEIGHT - 1)];
        if row.len() < c {
            row.resize(c, ' ');
        }
        if c < row.len() {
            if insert {
                row.insert(c, ch);
                row.truncate(MAX_WIDTH);
            } else {
                row[c] = ch;
            }
        } else {
            row.push(ch);
        }
        self.c = (c + 1).min(MAX_WIDTH);
    }

    pub fn carriage_return(&mut self) {
        self.c = 0;
    }

    pub fn backspace(&mut self) {
        if let Some(w) = self.width {
            self.c = self.c.min(w.saturating_sub(1));
        }
        self.c = self.c.saturating_sub(1);
    }

    pub fn tab(&mut self) {
        self.c = ((self.c / 8 + 1) * 8).min(self.width.unwrap_or(MAX_WIDTH).saturating_sub(1));
    }

    /// Moves the cursor to (row, column), both from 0; rows past the last one grow the grid.
    /// Home on a screen drawn line by line starts a new page (`clear`).
    pub fn goto(&mut self, r: usize, c: usize) {
        if (r, c) == (0, 0) && self.plain && self.capture_plain {
            self.release_plain();
            self.new_page();
        } else {
            self.addressed();
        }
        self.r = r.min(MAX_HEIGHT - 1);
        self.c = c.min(MAX_WIDTH - 1);
        self.ensure_row(self.r);
    }

    pub fn goto_col(&mut self, c: usize) {
        self.c = c.min(MAX_WIDTH - 1);
    }

    pub fn goto_row(&mut self, r: usize) {
        self.addressed();
        self.goto(r, self.c);
    }

    pub fn up(&mut self, n: usize) {
        self.addressed();
        let floor = if self.r >= self.top { self.top } else { 0 };
        self.r = self.r.saturating_sub(n).max(floor);
    }

    pub fn down(&mut self, n: usize) {
        self.addressed();
        self.r = (self.r + n)
            .min(self.bottom().max(self.r))
            .min(MAX_HEIGHT - 1);
        self.ensure_row(self.r);
    }

    pub fn right(&mut self, n: usize) {
        let limit = self.width.unwrap_or(MAX_WIDTH).saturating_sub(1);
        self.c = (self.c + n).min(limit.max(self.c));
    }

    pub fn left(&mut self, n: usize) {
        self.c = self.c.saturating_sub(n);
    }

    pub fn save(&mut self) {
        self.saved = (self.r, self.c);
    }

    pub fn restore(&mut self) {
        (self.r, self.c) = self.saved;
        self.ensure_row(self.r);
    }

    pub fn set_insert(&mut self, on: bool) {
        self.insert = on;
    }

    /// DECSTBM: the scroll region, rows from 1 (0 for the defaults); the cursor goes home.
    pub fn set_region(&mut self, top: usize, bottom: usize) {
        self.addressed();
        let top = top.saturating_sub(1);
        if bottom == 0 {
            self.top = 0;
            self.bottom = None;
        } else {
            let bottom = (bottom - 1).min(MAX_HEIGHT - 1);
            if top < bottom {
                self.top = top;
                self.bottom = Some(bottom);
                self.ensure_row(bottom);
            }
        }
        self.goto(0, 0);
    }

    /// EL: 0 to the end of the row, 1 to the cursor, 2 the whole row.
    pub fn erase_line(&mut self, mode: usize) {
        self.ensure_row(self.r);
        let c = self.c;
        let row = &mut self.rows[self.r];
        match mode {
            0 => row.truncate(c),
            1 => row.iter_mut().take(c + 1).for_each(|x| *x = ' '),
            _ => row.clear(),
        }
    }

    /// ED: 0 below the cursor, 1 above it, 2 and 3 the whole screen.
    pub fn erase_display(&mut self, mode: usize) {
        self.ensure_row(self.r);
        match mode {
            0 => {
                self.erase_line(0);
                for row in self.rows.iter_mut().skip(self.r + 1) {
                    row.clear();
                }
            }
            1 => {
                self.erase_line(1);
                for row in self.rows.iter_mut().take(self.r) {
                    row.clear();
                }
            }
            _ => {
                self.release_plain();
                self.new_page();
            }
        }
    }

    /// Every row blank, none read.
    fn new_page(&mut self) {
        for row in &mut self.rows {
            row.clear();
        }
        self.wrapped.iter_mut().for_each(|w| *w = false);
        self.unread_from = 0;
    }

    pub fn insert_chars(&mut self, n: usize) {
        self.ensure_row(self.r);
        let c = self.c;
        let row = &mut self.rows[self.r];
        if c < row.len() {
            for _ in 0..n.min(MAX_WIDTH) {
                row.insert(c, ' ');
            }
            row.truncate(MAX_WIDTH);
        }
    }

    pub fn delete_chars(&mut self, n: usize) {
        self.ensure_row(self.r);
        let c = self.c;
        let row = &mut self.rows[self.r];
        if c < row.len() {
            let end = (c + n).min(row.len());
            row.drain(c..end);
        }
    }

    pub fn erase_chars(&mut self, n: usize) {
        self.ensure_row(self.r);
        let c = self.c;
        for x in self.rows[self.r].iter_mut().skip(c).take(n) {
            *x = ' ';
        }
    }

    /// IL / DL: rows inserted or deleted at the cursor, within the scroll region.
    pub fn insert_lines(&mut self, n: usize) {
        self.addressed();
        let (top, r) = (self.top, self.r);
        self.top = r;
        self.scroll_down(n);
        self.top = top;
    }

    pub fn delete_lines(&mut self, n: usize) {
        self.addressed();
        let (top, r, seen) = (self.top, self.r, self.shell_seen);
        self.top = r;
        self.shell_seen = false; // deleted rows are not output scrolling away
        self.scroll_up(n);
        self.shell_seen = seen;
        self.top = top;
    }

    pub fn scroll(&mut self, up: bool, n: usize) {
        self.addressed();
        if up {
            self.scroll_up(n.min(MAX_HEIGHT));
        } else {
            self.scroll_down(n.min(MAX_HEIGHT));
        }
    }

    /// The editor starts reading: rows above the cursor not read yet are output (once a shell
    /// was seen here). `exact` says the mark followed the prompt.
    pub fn start_input(&mut self, exact: bool) {
        if self.capture_plain && !self.plain {
            // In a session whose shell marks nothing, marks on a screen a program took are
            // the program's (vi switching bracketed paste on), not a shell's.
            return;
        }
        // A line editor's marks: its own reading, not line drawing, from here on.
        self.addressed();
        self.ensure_row(self.r);
        if self.shell_seen {
            for r in self.unread_from..self.r {
                let t = self.row_text(r);
                if !t.is_empty() {
                    self.output.push(t);
                }
            }
        }
        self.unread_from = self.r;
        self.input = Some((self.r, self.c, exact));
    }

    /// The editor accepted (or left) its line: the rows not read yet (from where input began,
    /// or earlier: a multiplexer passes the editor's marks on late and merges them, so one
    /// mark may cover several prompts) down to the cursor's row, wrapped rows joined, blank
    /// ones at the end dropped. The caller tells prompts from output among them.
    pub fn end_input(&mut self) -> Option<GridInput> {
        let (start, col, exact) = self.input.take()?;
        let from = start.min(self.unread_from);
        let last = self.r.max(start).min(self.height().saturating_sub(1));
        let mut lines: Vec<String> = Vec::new();
        let mut last_text = from;
        for r in from..=last {
            let t: String = self.rows[r].iter().collect();
            if !t.trim().is_empty() {
                last_text = r;
            }
            match lines.last_mut() {
                Some(prev) if self.wrapped[r] && r > from => prev.push_str(&t),
                _ => lines.push(t),
            }
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        self.unread_from = (last_text + 1).min(self.height());
        if lines.is_empty() {
            return None;
        }
        let lines: Vec<String> = lines.iter().map(|l| l.trim_end().to_owned()).collect();
        Some(GridInput {
            lines,
            input_col: (exact && from == start).then_some(col),
        })
    }

    /// The last non-blank row at or above the cursor: where a shell without marks would have
    /// its prompt when the screen is left.
    pub fn last_row(&self) -> String {
        (0..=self.r.min(self.height().saturating_sub(1)))
            .rev()
            .map(|r| self.row_text(r))
            .find(|t| !t.is_empty())
            .unwrap_or_default()
    }

    /// Output left on the screen below the last input when the screen is left.
    pub fn flush_output(&mut self) {
        if self.shell_seen {
            for r in self.unread_from..=self.r.min(self.height().saturating_sub(1)) {
                let t = self.row_text(r);
                if !t.is_empty() {
                    self.output.push(t);
                }
            }
            self.unread_from = self.height();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(g: &mut Grid, s: &str) {
        for ch in s.chars() {
            match ch {
                '\r' => g.carriage_return(),
                '\n' => g.line_feed(),
                c => g.print(c),
            }
        }
    }

    #[test]
    fn a_line_is_read_back_after_scrolling() {
        let mut g = Grid::new(Some(20));
        g.set_region(1, 3);
        g.goto(2, 0);
        g.start_input(false);
        feed(&mut g, "$ echo a long line here\r\n");
        // The wrap and the line feed scrolled the region twice: the input moved up with it.
        let got = g.end_input().unwrap();
        assert_eq!(got.lines, ["$ echo a long line here"]);
    }

    #[test]
    fn output_scrolled_away_is_read_once_a_shell_was_seen() {
        let mut g = Grid::new(Some(40));
        g.set_region(1, 3);
        g.start_input(false);
        feed(&mut g, "$ ls\r\n");
        assert!(g.end_input().is_some());
        g.shell_seen = true;
        feed(&mut g, "a\r\nb\r\nc\r\nd\r\n");
        g.start_input(false);
        assert_eq!(g.output, ["a", "b", "c", "d"]);
    }
}
