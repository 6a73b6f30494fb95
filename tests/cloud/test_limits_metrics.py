"""The Prometheus metrics: names, labels and values as a scraper sees them."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from whatsapp_client.cloud._errors import ValidationError
from whatsapp_client.cloud._metrics import CloudMetrics


def test_every_series_has_its_documented_name_and_labels() -> None:
    metrics = CloudMetrics()
    metrics.messages_sent("text")
    metrics.messages_sent("text")
    metrics.messages_sent("template")
    metrics.media_download("success")
    metrics.media_download("error")
    metrics.api_latency("messages", 0.2)
    metrics.api_latency("messages", 0.4)
    metrics.rate_limit_remaining("15550001", 997)
    metrics.breaker_state("15550001", "half_open")
    metrics.retry("media")
    value = metrics.registry.get_sample_value
    assert value("whatsapp_messages_sent_total", {"type": "text"}) == 2
    assert value("whatsapp_messages_sent_total", {"type": "template"}) == 1
    assert value("whatsapp_media_downloads_total", {"status": "success"}) == 1
    assert value("whatsapp_media_downloads_total", {"status": "error"}) == 1
    assert value("whatsapp_api_latency_seconds_count", {"endpoint": "messages"}) == 2
    assert value("whatsapp_api_latency_seconds_sum", {"endpoint": "messages"}) == (
        pytest.approx(0.6)
    )
    assert value("whatsapp_rate_limit_remaining", {"phone_number_id": "15550001"}) == 997
    assert value("whatsapp_breaker_state", {"phone_number_id": "15550001"}) == 1
    assert value("whatsapp_retries_total", {"endpoint": "media"}) == 1
    text = generate_latest(metrics.registry).decode()
    assert "# TYPE whatsapp_api_latency_seconds histogram" in text


@pytest.mark.parametrize(("state", "value"), [("closed", 0), ("half_open", 1), ("open", 2)])
def test_breaker_states_map_to_0_1_2(state: str, value: float) -> None:
    metrics = CloudMetrics()
    metrics.breaker_state("p", state)
    labels = {"phone_number_id": "p"}
    assert metrics.registry.get_sample_value("whatsapp_breaker_state", labels) == value


def test_an_unknown_breaker_state_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown breaker state"):
        CloudMetrics().breaker_state("p", "ajar")


def test_each_instance_has_its_own_registry_unless_one_is_given() -> None:
    one, two = CloudMetrics(), CloudMetrics()
    one.messages_sent("text")
    assert two.registry.get_sample_value("whatsapp_messages_sent_total", {"type": "text"}) is None
    shared = CollectorRegistry()
    metrics = CloudMetrics(registry=shared)
    metrics.retry("messages")
    assert metrics.registry is shared
    assert shared.get_sample_value("whatsapp_retries_total", {"endpoint": "messages"}) == 1
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        CloudMetrics(registry=shared)  # one set of series per registry
