"""The Prometheus operator ServiceMonitor scraping vLLM's /metrics through the Service."""

from __future__ import annotations

from components.contract.spec import ModelEntry, MonitoringConfig
from components.manifests.labels import metadata, selector


def build(entry: ModelEntry, namespace: str, monitoring: MonitoringConfig) -> dict:
    meta = metadata(entry, namespace)
    meta["labels"] = {**meta["labels"], **monitoring.service_monitor_labels}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": selector(entry)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": monitoring.scrape_interval}],
        },
    }
