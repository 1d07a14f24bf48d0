"""``dt kv ...``: the key-value store from a shell (get, ls, put, rm), per environment.

As on the hosted dt, ``-s``/``-S`` address secrets; their values are never printed here
(read them in code with ``Secrets().get``); ``dt secret`` sets them.
"""

from __future__ import annotations

import click

from datatailr.cli._options import CONTEXT_SETTINGS, CliError, common_options
from datatailr.cli._render import UTC_HEADER, Column, Printer, emit_json, fmt_time


def _kv(env: str):
    from datatailr.kv import KV

    return KV(environment=env)


def _secret_names(env: str) -> list[str]:
    from datatailr.secrets import Secrets

    return [r["key"] for r in Secrets(environment=env).ls()]


@click.group(context_settings=CONTEXT_SETTINGS)
def kv() -> None:
    """Key-value store: string settings by key, per environment (passwords go in dt secret).

    \b
    Examples:
      dt kv put db_host db.internal
      dt kv get db_host
      dt kv ls -v
    """


@kv.command("get", short_help="Print the value of a key.", context_settings=CONTEXT_SETTINGS)
@click.argument("key")
@click.option("--secure", "-s", is_flag=True, help="KEY is a secret (its value is not printed).")
@common_options
def get_command(key: str, secure: bool, env: str, as_json: bool) -> None:
    """Print the value of KEY.

    \b
    Examples:
      dt kv get db_host
      dt kv get db_host -e prod --json
    """
    if secure:
        if key not in _secret_names(env):
            raise CliError(f"No secret {key!r} in {env}: `dt secret ls -e {env}` lists them.")
        raise CliError(
            f"Secret {key!r} exists in {env}; its value is not printed (read it in code with "
            "Secrets().get(...), which tasks and services do)."
        )
    value = _kv(env).get(key)
    if as_json:
        emit_json({"key": key, "value": value, "environment": env})
    else:
        click.echo(value)


@kv.command("ls", short_help="List the keys.", context_settings=CONTEXT_SETTINGS)
@click.option("--values", "-v", "show_values", is_flag=True, help="Show the values too.")
@click.option("--secrets", "-S", "secrets", is_flag=True, help="List secret names instead.")
@common_options
def ls_command(show_values: bool, secrets: bool, env: str, as_json: bool) -> None:
    """List the keys of the environment (with -v their values; with -S the secrets' names).

    \b
    Examples:
      dt kv ls
      dt kv ls -v --json
      dt kv ls -S
    """
    if secrets:
        names = _secret_names(env)
        if as_json:
            emit_json([{"key": n} for n in names])
            return
        Printer().table([Column("secret")], [[n] for n in names], empty=f"No secrets in {env}.")
        return
    rows = _kv(env).ls()
    if as_json:
        emit_json([{k: v for k, v in r.items() if show_values or k != "value"} for r in rows])
        return
    columns = [Column("key", no_wrap=True)]
    if show_values:
        columns.append(Column("value"))
    columns.append(Column("updated" + UTC_HEADER, no_wrap=True))
    Printer().table(
        columns,
        [[r["key"], *([r["value"]] if show_values else []), fmt_time(r.get("updated_at"))]
         for r in rows],
        empty=f"No keys in {env}.",
    )


@kv.command("put", short_help="Set a key.", context_settings=CONTEXT_SETTINGS)
@click.argument("key")
@click.argument("value")
@common_options
def put_command(key: str, value: str, env: str, as_json: bool) -> None:
    """Set KEY to VALUE in the environment (replacing it).

    \b
    Examples:
      dt kv put db_host db.internal -e prod
    """
    _kv(env).put(key, value)
    if as_json:
        emit_json({"key": key, "value": value, "environment": env})
    else:
        click.echo(f"Set {key} in {env}.")


@kv.command("rm", short_help="Delete a key.", context_settings=CONTEXT_SETTINGS)
@click.argument("key")
@common_options
def rm_command(key: str, env: str, as_json: bool) -> None:
    """Delete KEY from the environment.

    \b
    Examples:
      dt kv rm db_host
    """
    _kv(env).delete(key)
    if as_json:
        emit_json({"key": key, "environment": env, "deleted": True})
    else:
        click.echo(f"Deleted {key} from {env}.")
