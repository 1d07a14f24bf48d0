"""``dt blob ...``: the platform's blob storage from a shell (ls, cp, get, put, exists, rm).

Each command is one ``datatailr.Blob`` call; names are as the hosted dt writes them
(``my_bucket/file.csv`` or ``blob://my_bucket/file.csv``).
"""

from __future__ import annotations

import sys

import click

from datatailr.cli._options import CONTEXT_SETTINGS, CliError, common_options
from datatailr.cli._render import UTC_HEADER, Column, Printer, emit_json, fmt_time

_PREFIX = "blob://"


def _blob(env: str):
    from datatailr.blob import Blob

    return Blob(environment=env)


@click.group(context_settings=CONTEXT_SETTINGS)
def blob() -> None:
    """Blob storage: files by name, per environment.

    \b
    Examples:
      dt blob ls my_bucket/ -r
      dt blob cp local_file.csv blob://my_bucket/file.csv
      echo hello | dt blob put my_bucket/hello.txt
      dt blob get blob://my_bucket/hello.txt
    """


@blob.command("ls", short_help="List blobs under a prefix.", context_settings=CONTEXT_SETTINGS)
@click.argument("prefix", default="")
@click.option("--recursive", "-r", is_flag=True, help="Every file below, not just one level.")
@click.option("--filter", "-f", "filter_by", default="", metavar="EXPR",
              help='The hosted filter language over name, size, last_modified, is_file, '
                   'e.g. "size > 1000 and name ends_with .csv".')
@click.option("--batch-size", "-b", "limit", type=click.IntRange(min=0), default=None,
              help="At most this many.")
@click.option("--offset", "-o", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip this many first.")
@common_options
def ls_command(prefix: str, recursive: bool, filter_by: str, limit: int | None, offset: int,
               env: str, as_json: bool) -> None:
    """List what is under PREFIX (default: the top), folders ending in /.

    \b
    Examples:
      dt blob ls
      dt blob ls my_bucket/ -r --json
    """
    rows = _blob(env).ls(prefix, recursive=recursive, filter_by=filter_by,
                         limit=-1 if limit is None else limit, offset=offset)
    if as_json:
        emit_json(rows)
        return
    Printer().table(
        [Column("name", no_wrap=True), Column("size", "right"),
         Column("last modified" + UTC_HEADER, no_wrap=True)],
        [[r["name"], r["size"] if r["is_file"] else "-", fmt_time(r["last_modified"])]
         for r in rows],
        empty=f"No blobs under {prefix or 'the top'!r} in {env}.",
    )


@blob.command("cp", short_help="Copy a file to or from blob storage.",
              context_settings=CONTEXT_SETTINGS)
@click.argument("source")
@click.argument("destination")
@common_options
def cp_command(source: str, destination: str, env: str, as_json: bool) -> None:
    """Copy SOURCE to DESTINATION; exactly one of them is a blob, written blob://NAME.

    \b
    Examples:
      dt blob cp report.csv blob://my_bucket/report.csv
      dt blob cp blob://my_bucket/report.csv copy.csv
    """
    store = _blob(env)
    if source.startswith(_PREFIX) == destination.startswith(_PREFIX):
        raise CliError(
            f"dt blob cp {source} {destination}: write the blob side as blob://NAME and the "
            "other as a local path, e.g. dt blob cp report.csv blob://my_bucket/report.csv."
        )
    if destination.startswith(_PREFIX):
        store.put_file(destination, source)
        done = {"from": source, "to": destination, "size": len(store.get(destination))}
    else:
        store.get_file(source, destination)
        done = {"from": source, "to": destination, "size": len(store.get(source))}
    if as_json:
        emit_json(done)
    else:
        click.echo(f"Copied {source} to {destination} ({done['size']} bytes).")


@blob.command("get", short_help="Print a blob to stdout.", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@common_options
def get_command(name: str, env: str, as_json: bool) -> None:
    """Write the bytes of blob NAME to stdout, as they are.

    \b
    Examples:
      dt blob get blob://my_bucket/hello.txt
      dt blob get my_bucket/data.csv -e prod > data.csv
    """
    data = _blob(env).get(name)
    if as_json:
        try:
            emit_json({"name": name, "size": len(data), "text": data.decode("utf-8")})
        except UnicodeDecodeError:
            raise CliError(f"Blob {name!r} is not UTF-8 text: print it without --json, or "
                           f"copy it with `dt blob cp blob://{name} FILE`.") from None
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@blob.command("put", short_help="Store stdin (or a file) as a blob.",
              context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.argument("file", type=click.File("rb"), default="-")
@common_options
def put_command(name: str, file, env: str, as_json: bool) -> None:
    """Store FILE (default: stdin) as blob NAME, replacing it.

    \b
    Examples:
      echo hello | dt blob put my_bucket/hello.txt
      dt blob put my_bucket/data.csv data.csv
    """
    data = file.read()
    _blob(env).put(name, data)
    if as_json:
        emit_json({"name": name, "size": len(data)})
    else:
        click.echo(f"Stored {name} ({len(data)} bytes) in {env}.")


@blob.command("exists", short_help="Print true or false.", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@common_options
def exists_command(name: str, env: str, as_json: bool) -> None:
    """Print true when blob NAME exists, else false (the exit status is 0 either way).

    \b
    Examples:
      dt blob exists my_bucket/file.csv
    """
    found = _blob(env).exists(name)
    if as_json:
        emit_json({"name": name, "exists": found})
    else:
        click.echo("true" if found else "false")


@blob.command("rm", short_help="Delete a blob.", context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@common_options
def rm_command(name: str, yes: bool, env: str, as_json: bool) -> None:
    """Delete blob NAME (asks first unless --yes).

    \b
    Examples:
      dt blob rm my_bucket/file.csv
      dt blob rm my_bucket/file.csv -e pre --yes
    """
    store = _blob(env)
    if not store.exists(name):
        store.delete(name)  # raises the not-found error
    if not yes:
        click.confirm(f"Delete blob {name!r} from {env}?", abort=True, err=True)
    store.delete(name)
    if as_json:
        emit_json({"name": name, "deleted": True})
    else:
        click.echo(f"Deleted {name} from {env}.")
