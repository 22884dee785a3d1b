//! `tweetoscope completions SHELL`: the shell completion script of this
//! command, on stdout (e.g. `tweetoscope completions bash >
//! /etc/bash_completion.d/tweetoscope`).

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

pub fn completions<C: CommandFactory>(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = C::command();
    let name = command.get_name().to_owned();
    clap_complete::generate(args.shell, &mut command, name, &mut std::io::stdout());
    Ok(())
}
