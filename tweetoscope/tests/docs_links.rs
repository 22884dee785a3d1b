//! Every relative link of README.md and docs/*.md resolves: the file it
//! names exists inside the repository and, for a `#anchor`, the target
//! Markdown file has a heading with that anchor under GitHub's rules
//! (lower case, punctuation dropped, spaces to hyphens, `-1`, `-2`, ... for
//! repeated headings). External links (`http:`, `https:`, `mailto:`) are
//! not followed. Fenced code blocks and code spans hold no links.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The repository root: this crate's parent directory.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

/// README.md and every Markdown file of docs/.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    let docs = root.join("docs");
    if let Ok(entries) = std::fs::read_dir(&docs) {
        let mut md: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        md.sort();
        files.extend(md);
    }
    files
}

/// `text` with fenced code blocks and code spans blanked out (newlines
/// kept, so offsets still give line numbers).
fn without_code(text: &str) -> String {
    blank_code_spans(&without_fences(text))
}

/// `text` with fenced code blocks blanked out.
fn without_fences(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    for line in text.split_inclusive('\n') {
        let fence = line.trim_start().starts_with("```");
        if fenced || fence {
            out.extend(line.chars().map(|c| if c == '\n' { c } else { ' ' }));
            if fence {
                fenced = !fenced;
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Blanks every code span: a run of n backticks up to the next run of
/// exactly n (across lines); an unmatched run stays literal.
fn blank_code_spans(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|&&c| c == '`').count();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let m = run_at(j);
                if m == n {
                    close = Some(j + m);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                for c in &mut out[i..end] {
                    if *c != '\n' {
                        *c = ' ';
                    }
                }
                i = end;
            }
            None => i += n,
        }
    }
    out.into_iter().collect()
}

/// The (line, target) of every inline link or image, `[text](target)`,
/// and of every reference definition, `[label]: target`.
fn links(text: &str) -> Vec<(usize, String)> {
    let text = without_code(text);
    let mut found = Vec::new();
    for (at, _) in text.match_indices("](") {
        let rest = &text[at + 2..];
        let Some(end) = rest.find([')', '\n']) else {
            continue;
        };
        let target = rest[..end].split_whitespace().next().unwrap_or("");
        let target = target.trim_start_matches('<').trim_end_matches('>');
        found.push((text[..at].matches('\n').count() + 1, target.to_string()));
    }
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if let (true, Some(colon)) = (line.starts_with('['), line.find("]: ")) {
            found.push((n + 1, line[colon + 3..].trim().to_string()));
        }
    }
    found
}

/// GitHub's anchor for a heading's text.
fn anchor(heading: &str) -> String {
    // A link in a heading shows its text only.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find("](") {
        let close = rest[open..].find(')').map_or(rest.len(), |c| open + c + 1);
        text.push_str(&rest[..open]);
        rest = &rest[close..];
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's ATX headings, repeats numbered.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for line in without_fences(text).lines() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = anchor(line[hashes..].trim().trim_end_matches('#'));
        let mut name = base.clone();
        let mut k = 0;
        while seen.contains(&name) {
            k += 1;
            name = format!("{base}-{k}");
        }
        seen.insert(name);
    }
    seen
}

/// Every broken relative link of `files`, as `file:line: target: why`.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let root = root.canonicalize().expect("the repository exists");
    let mut broken = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("a document is readable");
        let dir = file.parent().expect("a file has a directory");
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (line, target) in links(&text) {
            if target.is_empty()
                || ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| target.starts_with(s))
            {
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            let why = match resolved.canonicalize() {
                Err(_) => Some("no such file".to_string()),
                Ok(real) if !real.starts_with(&root) => {
                    Some("outside the repository (a clone does not have it)".to_string())
                }
                Ok(real) => fragment.and_then(|f| {
                    let markdown = real.extension().is_some_and(|x| x == "md");
                    let text = std::fs::read_to_string(&real).unwrap_or_default();
                    (markdown && !anchors(&text).contains(f))
                        .then(|| format!("no heading with anchor #{f}"))
                }),
            };
            if let Some(why) = why {
                broken.push(format!("{shown}:{line}: {target}: {why}"));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let root = repository();
    let files = documents(&root);
    assert!(
        files.len() > 1,
        "docs/ holds the documentation beside README.md"
    );
    let broken = broken_links(&root, &files);
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_follow_githubs_rules() {
    assert_eq!(anchor("Fits and `eval`"), "fits-and-eval");
    assert_eq!(
        anchor("2026-12-04: issue 10 (throughput, latency, flat RSS)"),
        "2026-12-04-issue-10-throughput-latency-flat-rss"
    );
    assert_eq!(
        anchor("cascade_properties: sizes"),
        "cascade_properties-sizes"
    );
    assert_eq!(anchor("The [live](x.md) page"), "the-live-page");
    let a = anchors("# A\n\n## Notes\n\n```\n## Not a heading\n```\n\n### Notes\n");
    let expected: HashSet<String> = ["a", "notes", "notes-1"].map(String::from).into();
    assert_eq!(a, expected);
    assert!(anchors("## Fits and `eval`\n").contains("fits-and-eval"));
}

#[test]
fn links_in_code_are_not_links_and_links_across_lines_are() {
    let text = "see `[a](missing.md)` and\n```\n[b](missing.md)\n```\n[the\nlimits](LIMITS.md#x) ![img](img/a.png)\n[ref]: OPS.md\n";
    let targets: Vec<(usize, String)> = links(text);
    assert_eq!(
        targets,
        vec![
            (6, "LIMITS.md#x".to_string()),
            (6, "img/a.png".to_string()),
            (7, "OPS.md".to_string()),
        ]
    );
}

#[test]
fn a_missing_file_a_missing_heading_and_a_link_outside_are_reported() {
    let root = std::env::temp_dir().join(format!("tweetoscope-docs-links-{}", std::process::id()));
    let outside = root.join("shared");
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("SPEC.md"), "# Spec\n").unwrap();
    std::fs::write(
        repo.join("README.md"),
        "[ok](docs/A.md#the-title) [gone](docs/B.md) [no heading](docs/A.md#nope)\n\
         [spec](../shared/SPEC.md) [web](https://example.invalid/x) [self](#readme)\n\n# Readme\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("docs/A.md"),
        "# The title\n\n[up](../README.md#readme)\n",
    )
    .unwrap();
    let files = documents(&repo);
    let broken = broken_links(&repo, &files);
    std::fs::remove_dir_all(&root).unwrap();
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(
        broken[0].contains("docs/B.md: no such file"),
        "{}",
        broken[0]
    );
    assert!(
        broken[1].contains("no heading with anchor #nope"),
        "{}",
        broken[1]
    );
    assert!(
        broken[2].contains("outside the repository"),
        "{}",
        broken[2]
    );
}
