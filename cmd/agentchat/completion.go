package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask the binary itself for candidates: urfave/cli
// answers `agentchat <words> --generate-bash-completion` with the
// subcommands, or the flags when the word being completed starts with "-".

const bashCompletion = `# bash completion for agentchat: source it, or install it as
# /etc/bash_completion.d/agentchat
_agentchat_complete() {
	local cur="${COMP_WORDS[COMP_CWORD]}" words
	if [[ "$cur" == -* ]]; then
		words=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" --generate-bash-completion 2>/dev/null)
	else
		words=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:COMP_CWORD-1}" --generate-bash-completion 2>/dev/null)
	fi
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o bashdefault -o default -F _agentchat_complete agentchat
`

const zshCompletion = `#compdef agentchat
# zsh completion for agentchat: put it on $fpath as _agentchat
_agentchat() {
	local -a candidates
	local cur="${words[CURRENT]}"
	if [[ "$cur" == -* ]]; then
		candidates=("${(@f)$(${words[1]} ${words[2,CURRENT-1]} "$cur" --generate-bash-completion 2>/dev/null)}")
	else
		candidates=("${(@f)$(${words[1]} ${words[2,CURRENT-1]} --generate-bash-completion 2>/dev/null)}")
	fi
	if [[ -n "${candidates[1]}" ]]; then
		compadd -a candidates
	else
		_files
	fi
}
compdef _agentchat agentchat
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			return writeCompletion(c.App, c.App.Writer, c.Args().First())
		},
	}
}

func writeCompletion(app *cli.App, w io.Writer, shell string) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := app.ToFishCompletion()
		if err != nil {
			return fmt.Errorf("fish completion: %w", err)
		}
		script = s
	default:
		return fmt.Errorf("completion: want bash, zsh or fish, not %q", shell)
	}
	_, err := io.WriteString(w, script)
	return err
}
