"""Connectors: each turns one kind of source (a website, Confluence, Notion, Slack threads) into
the `SourceDocument`s the file loaders make, behind one small protocol (`base.Connector`).

The sync machinery (ingest/sync/) runs them: it owns state, scheduling, deletions and writing.
"""

from ingest.connectors.base import Connector, ConnectorError, Pull, SourceAuthError

__all__ = ["Connector", "ConnectorError", "Pull", "SourceAuthError", "connector_for"]


def connector_for(source, settings) -> Connector:
    """The connector for a `sources.yaml` entry (`ingest.sync.config.Source`)."""
    from ingest.connectors import confluence, notion, slack, website

    kinds = {
        "website": website.Website,
        "confluence": confluence.Confluence,
        "notion": notion.Notion,
        "slack": slack.SlackThreads,
    }
    return kinds[source.kind](source, settings)
