"""``dt secret ...``: set, list and remove secrets; a value is read, never shown.

``dt secret set NAME`` reads the value from the terminal without echo (twice, to confirm),
or from stdin when stdin is not a terminal (one trailing newline dropped), so it never
appears in the shell's history, ``ps`` or any output.
"""

from __future__ import annotations

import sys

import click

from datatailr.cli._options import CONTEXT_SETTINGS, CliError, common_options
from datatailr.cli._render import Column, Printer, emit_json


def _secrets(env: str):
    from datatailr.secrets import Secrets

    return Secrets(environment=env)


@click.group(context_settings=CONTEXT_SETTINGS)
def secret() -> None:
    """Secrets: passwords and tokens for tasks and services, kept in a private local file.

    \b
    Examples:
      dt secret set db/password
      printf %s "$TOKEN" | dt secret set api_token -e prod
      dt secret ls
    """


@secret.command("set", short_help="Set a secret (value from the terminal or stdin).",
                context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@common_options
def set_command(name: str, env: str, as_json: bool) -> None:
    """Set secret NAME; its value is read from the terminal (hidden) or from stdin.

    \b
    Examples:
      dt secret set db/password
      printf %s "$TOKEN" | dt secret set api_token -e prod
    """
    stdin = sys.stdin
    if stdin.isatty():
        value = click.prompt(f"Value of {name}", hide_input=True, confirmation_prompt=True,
                             err=True)
    else:
        value = stdin.read()
        if value.endswith("\n"):
            value = value[:-1]
            if value.endswith("\r"):
                value = value[:-1]
    if not value:
        raise CliError(f"No value for secret {name!r} was given (stdin was empty).")
    _secrets(env).set(name, value)
    if as_json:
        emit_json({"key": name, "environment": env, "set": True})
    else:
        click.echo(f"Set secret {name} in {env}.", file=sys.stdout)


@secret.command("ls", short_help="List the secrets' names.", context_settings=CONTEXT_SETTINGS)
@common_options
def ls_command(env: str, as_json: bool) -> None:
    """List the names of the environment's secrets (never their values).

    \b
    Examples:
      dt secret ls
      dt secret ls -e prod --json
    """
    names = [r["key"] for r in _secrets(env).ls()]
    if as_json:
        emit_json([{"key": n, "environment": env} for n in names])
        return
    Printer().table([Column("secret")], [[n] for n in names], empty=f"No secrets in {env}.")


@secret.command("rm", short_help="Remove a secret.", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@common_options
def rm_command(name: str, env: str, as_json: bool) -> None:
    """Remove secret NAME from the environment.

    \b
    Examples:
      dt secret rm api_token
    """
    _secrets(env).delete(name)
    if as_json:
        emit_json({"key": name, "environment": env, "removed": True})
    else:
        click.echo(f"Removed secret {name} from {env}.")
