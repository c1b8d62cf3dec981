//! The HTML report in a real browser: Debian's Chromium, headless (installed with apt-get when
//! missing and running as root). The report of a week where the audited people typed
//! `<img src=x onerror=...>` and `</script><script>...` (as commands, as their user name, in an
//! error message) must load with no console message at all (no script error, no blocked
//! script or load), keep its title, contain no element the payload would have made, and show
//! the payload as text. A deliberately unescaped page goes through the same check first, to
//! prove the check catches a payload that runs. The screenshot and a printed PDF are kept under
//! `target/tmp/report-browser/` (the paths are printed).

mod report_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use report_support::*;

/// Finds Chromium, installing Debian's package when it is missing and we may.
fn chromium() -> PathBuf {
    let find = || {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return p;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    assert!(
        root,
        "chromium is not installed and this test is not root: apt-get install chromium"
    );
    for args in [&["update", "-q"][..], &["install", "-y", "-q", "chromium"]] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .expect("apt-get runs");
        assert!(status.success(), "apt-get {args:?} failed");
    }
    find().expect("chromium installed")
}

/// What the browser made of a page.
struct Loaded {
    dom: String,
    console: Vec<String>,
}

/// Loads a page headless (the flags keep it from reaching the network or stalling), lets its
/// timers and load events run, and returns the DOM as it ended and every console message.
fn load(browser: &Path, page: &Path, extra: &[String]) -> Loaded {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console: String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
            .map(str::to_owned)
            .collect(),
    }
}

fn title(dom: &str) -> &str {
    let start = dom.find("<title>").map_or(0, |i| i + "<title>".len());
    let end = dom[start..].find("</title>").map_or(start, |i| start + i);
    &dom[start..end]
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_html_report_runs_no_injected_script_in_a_real_browser() {
    let browser = chromium();
    let dir = artifacts();

    // The check itself: an unescaped page with the payload must be caught.
    let bad = dir.join("unescaped.html");
    std::fs::write(
        &bad,
        format!("<!DOCTYPE html><html><head><title>Weekly</title></head><body><td>{IMG}</td><script>noSuchFunction()</script></body></html>"),
    )
    .unwrap();
    let caught = load(&browser, &bad, &["--dump-dom".into()]);
    assert_eq!(
        title(&caught.dom),
        "PWNED",
        "the harness must see a payload that runs"
    );
    assert!(
        caught.console.iter().any(|l| l.contains("noSuchFunction")),
        "the harness must see a script error: {:#?}",
        caught.console
    );

    let store = hostile_store();
    let page = dir.join("report.html");
    let o = run(&[
        "report",
        "--store",
        store.path().to_str().unwrap(),
        "--week",
        "2024-W47",
        "--policy",
        "queries/policy.toml",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let got = load(&browser, &page, &["--dump-dom".into()]);
    assert_eq!(
        title(&got.dom),
        "ECS Exec weekly compliance report: 2024-W47",
        "the page title changed: an injected script ran"
    );
    assert!(
        got.console.is_empty(),
        "script errors or blocked scripts/loads: {:#?}",
        got.console
    );
    let lower = got.dom.to_lowercase();
    assert!(!lower.contains("<img"), "the payload made an element");
    assert!(!lower.contains("<script"), "a script element exists");
    assert!(
        !lower.contains("<svg onload"),
        "the payload made an element"
    );
    // The payload shows as text (the DOM serialises text with < and > escaped).
    assert!(got
        .dom
        .contains("&lt;img src=x onerror=\"document.title='PWNED'\"&gt;"));
    assert!(got
        .dom
        .contains("&lt;/script&gt;&lt;script&gt;document.title='PWNED'&lt;/script&gt;"));
    // Every section rendered, charts included.
    for id in [
        "summary",
        "break_glass",
        "findings",
        "who_where",
        "transcript_coverage",
        "exec_configuration",
        "failed_attempts",
        "top",
    ] {
        assert!(got.dom.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert_eq!(got.dom.matches("<svg class=\"chart\"").count(), 3);

    let shot = dir.join("report.png");
    let pdf = dir.join("report.pdf");
    let _ = std::fs::remove_file(&shot);
    let _ = std::fs::remove_file(&pdf);
    let s = load(
        &browser,
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,2400".into(),
        ],
    );
    assert!(s.console.is_empty(), "{:#?}", s.console);
    let p = load(
        &browser,
        &page,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
        ],
    );
    assert!(p.console.is_empty(), "{:#?}", p.console);
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    let printed = std::fs::read(&pdf).expect("a PDF was printed");
    assert!(printed.starts_with(b"%PDF"));
    println!(
        "screenshot: {}\nprinted: {}\nreport: {}",
        shot.display(),
        pdf.display(),
        page.display()
    );
}
