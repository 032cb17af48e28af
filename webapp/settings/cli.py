"""`flask settings show` and `flask settings set KEY VALUE`: every setting of the settings page."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .definitions import BY_KEY, DEFINITIONS
from .store import SettingsInvalid, change, current, parse_texts


def register(app: Flask) -> None:
    group = AppGroup("settings", help="The business's settings (the /settings page): AI, business hours, OCR.")

    @group.command("show")
    @click.argument("key", required=False)
    def show(key: str | None) -> None:
        """Every setting and its value (or one setting's value)."""
        values = current()
        if key is not None:
            if key not in BY_KEY:
                raise click.ClickException(f"no setting {key!r}; `flask settings show` lists them")
            click.echo(BY_KEY[key].show(values[key]))
            return
        width = max(len(s.key) for s in DEFINITIONS)
        for setting in DEFINITIONS:
            click.echo(f"{setting.key:<{width}}  {setting.show(values[setting.key])}")

    @group.command("set")
    @click.argument("key")
    @click.argument("value")
    @click.option("--by", default="cli", show_default=True, help="Who makes the change (kept in the change log).")
    def set_(key: str, value: str, by: str) -> None:
        """Change one setting (lists comma-separated; true/false for switches). The change is logged."""
        try:
            changes = change(parse_texts({key: value}), by=by)
        except SettingsInvalid as exc:
            raise click.ClickException(str(exc)) from None
        shown = BY_KEY[key].show(current()[key])
        click.echo(f"{key} = {shown}" + ("" if changes else " (unchanged)"))

    app.cli.add_command(group)
