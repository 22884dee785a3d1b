// The build script of every binary crate (each crate's `build.rs` includes
// this file): sets `TWEETOSCOPE_COMMIT`, the short git commit that
// `--version` prints, from `git rev-parse --short HEAD`, or "unknown" when
// there is no git history (a Docker build; set TWEETOSCOPE_COMMIT there).
//
// It lives in the thin binary crates, not in core: a new commit then
// recompiles each binary's few files and relinks, never the library.
// Cargo reruns it only when HEAD or the branch it points to moves.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=TWEETOSCOPE_COMMIT");
    let given = std::env::var("TWEETOSCOPE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let commit = given.or_else(|| git(&["rev-parse", "--short", "HEAD"]));
    // Watch HEAD, the branch it names and packed-refs (where a branch goes
    // after `git gc`); without git, nothing to watch but this script.
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["rev-parse", "--symbolic-full-name", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    let watched: Vec<String> = watched
        .into_iter()
        .flatten()
        .filter(|p| std::path::Path::new(p).exists())
        .collect();
    if watched.is_empty() {
        println!("cargo:rerun-if-changed=build.rs");
    }
    for path in watched {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TWEETOSCOPE_COMMIT={commit}");
}
