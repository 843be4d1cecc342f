"""What an import did: counts per kind, every change, what was skipped and why, secrets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

OUTCOMES = ("created", "updated", "unchanged", "skipped")


@dataclass
class Secret:
    """A webhook subscriber's new signing secret, shown once."""

    url: str
    secret: str


@dataclass
class ImportReport:
    """The outcome of one `pharos import` run."""

    source: str
    dry_run: bool = False
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    actions: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uptime: list[str] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    error: str | None = None

    def count(self, kind: str, outcome: str, action: str | None = None) -> None:
        """Count one object's outcome, with the change it made."""
        self.counts[(kind, outcome)] += 1
        if action:
            self.actions.append(action)

    def skip(self, kind: str, what: str, why: str) -> None:
        """Count an object left out, and say why."""
        self.counts[(kind, "skipped")] += 1
        self.skipped.append(f"{kind} {what}: {why}")

    @property
    def changed(self) -> bool:
        """Whether the run changed (or, dry, would change) anything."""
        return bool(self.actions)

    def lines(self) -> list[str]:
        """The report as text, one line each."""
        out = [
            f"import from {self.source}{' (dry run: nothing was written)' if self.dry_run else ''}"
        ]
        out += [f"  {a}" for a in self.actions]
        kinds = sorted({kind for kind, _ in self.counts})
        for kind in kinds:
            parts = [f"{self.counts[(kind, o)]} {o}" for o in OUTCOMES if self.counts[(kind, o)]]
            out.append(f"{kind}s: {', '.join(parts)}")
        if not kinds:
            out.append("nothing found to import")
        out += [f"skipped {s}" for s in self.skipped]
        out += [f"note: {n}" for n in self.notes]
        out += [f"uptime check: {u}" for u in self.uptime]
        if self.secrets and not self.dry_run:
            out.append("webhook signing secrets (shown only now; give each to its receiver):")
            out += [f"  {s.url}  {s.secret}" for s in self.secrets]
        if self.error:
            out.append(f"error: {self.error}")
            out.append("what was imported before the error is kept; run the import again to finish")
        return out
