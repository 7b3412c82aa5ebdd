"""What an ingest run did, as the CLI, the Slack `/kb reindex` and the JSON output report it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks_written: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    collection: str = ""
    rebuilt: bool = False
    abandoned: bool = False
    """A rebuild that stopped because files failed: the previous index keeps serving."""
    dry_run: bool = False
    changes: dict[str, list[str]] = field(default_factory=dict)
    """Sources per change ("added", "updated", "deleted"): what a dry run would do."""
    notes: list[str] = field(default_factory=list)
    """What was ingested but deserves a look (an FAQ question asked in several rows)."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "failed": self.failed,
            "chunks_written": self.chunks_written,
            "collection": self.collection,
            "rebuilt": self.rebuilt,
            "abandoned": self.abandoned,
            "dry_run": self.dry_run,
            "changes": self.changes,
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
        }

    def describe(self) -> str:
        """The summary as the CLI and the Slack `/kb reindex` show it."""
        if self.dry_run:
            lines = [
                f"dry run: would add {self.added}, update {self.updated}, delete {self.deleted}; "
                f"{self.unchanged} unchanged, {len(self.failed)} failed; nothing was written"
            ]
            lines += [
                f"  {change}: {source}"
                for change, sources in self.changes.items()
                for source in sources
            ]
        else:
            lines = [
                f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"deleted {self.deleted}, failed {len(self.failed)} "
                f"({self.chunks_written} chunks written to {self.collection} in {self.seconds:.1f}s)"
            ]
            if self.rebuilt:
                lines.append(
                    f"rebuilt: {self.collection} is now serving; `ingest rollback` goes back"
                )
        lines += [f"  failed: {f['path']}: {f['reason']}" for f in self.failed]
        lines += [f"  note: {note}" for note in self.notes]
        if self.abandoned:
            lines.append(
                "rebuild abandoned: fix or remove the failed files; the previous index keeps serving"
            )
        return "\n".join(lines)
