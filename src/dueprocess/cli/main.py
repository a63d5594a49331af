"""The ``dueprocess`` command: the root and its command groups, one module each."""

from __future__ import annotations

import typer

from dueprocess.cli.action import action_app, worker
from dueprocess.cli.audit import audit_app
from dueprocess.cli.authority import authority_app
from dueprocess.cli.checklist import checklist_app
from dueprocess.cli.demand import demand_app
from dueprocess.cli.instance import db_app, demo, init, serve
from dueprocess.cli.policy import policy_app
from dueprocess.cli.report import report_app
from dueprocess.cli.review import review_app
from dueprocess.cli.sor import sor_app
from dueprocess.cli.token import token_app
from dueprocess.cli.user import user_app

app = typer.Typer(
    help="dueprocess: handle government demands to online services properly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(init)
app.command()(serve)
app.command()(demo)
app.command()(worker)
app.add_typer(db_app, name="db")
app.add_typer(demand_app, name="demand")
app.add_typer(policy_app, name="policy")
app.add_typer(checklist_app, name="checklist")
app.add_typer(authority_app, name="authority")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")
app.add_typer(review_app, name="review")
app.add_typer(action_app, name="action")
app.add_typer(sor_app, name="sor")


def main() -> None:
    """Entry point of the ``dueprocess`` script."""
    app()
