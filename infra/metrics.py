"""Metrics as CloudWatch embedded metric format (EMF) lines through Powertools: printed, and turned into metrics
by CloudWatch Logs on AWS, so no call leaves the function."""

from __future__ import annotations

import logging

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.exceptions import MetricValueError, SchemaValidationError

NAMESPACE = "ParkPass"

log = logging.getLogger("parkpass.metrics")


class EmfMetrics:
    """One EMF line per count, each with its own dimensions (a rejection's reason, a refund's state): Powertools'
    Metrics would put one dimension set on all of an invocation's metrics."""

    def __init__(self, namespace: str = NAMESPACE, service: str = "parkpass") -> None:
        self.namespace = namespace
        self.service = service

    def count(self, name: str, value: float = 1, *, unit: str = "Count", **dimensions: str) -> None:
        try:
            with single_metric(
                name=name, unit=MetricUnit(unit), value=value, namespace=self.namespace,
                default_dimensions={"service": self.service, **dimensions},
            ):  # fmt: skip
                pass
        except (ValueError, MetricValueError, SchemaValidationError) as e:  # a metric never fails a payment
            log.error("metric %s not recorded: %s", name, type(e).__name__)
