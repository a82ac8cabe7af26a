"""A one-file Django project logging to CloudWatch through ``LOGGING`` (dictConfig).

Settings, URLs and the view all live here. The log group comes from CWLOGS_LOG_GROUP;
leave AWS_ENDPOINT_URL_CLOUDWATCH_LOGS unset for real AWS, or point it at a local endpoint:

    export CWLOGS_LOG_GROUP=/examples/django AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:4566
    python examples/django_settings.py       # one request through Django's test client, then exit
    cd examples && DJANGO_SETTINGS_MODULE=django_settings python -m django runserver   # or serve
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

SECRET_KEY = "example-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, Any] = {}
USE_TZ = True
MIDDLEWARE = ["cwlogs.integrations.django.CorrelationMiddleware"]
CWLOGS_MIDDLEWARE = {"access_logger": "shop.access"}  # header names can be changed here too

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        # No network at configuration time: the handler connects on first delivery.
        "cloudwatch": {"class": "cwlogs.CloudWatchHandler", "service": "shop"},
    },
    "root": {"handlers": ["cloudwatch"], "level": "INFO"},
}


def order(request: HttpRequest, order_id: int) -> JsonResponse:
    email = request.GET.get("email", "")
    logging.getLogger("shop").info("order %d viewed by %s", order_id, email)
    return JsonResponse({"order_id": order_id})


urlpatterns = [path("orders/<int:order_id>", order)]


if __name__ == "__main__":
    import django
    from django.conf import settings
    from django.test import Client

    settings.configure(**{k: v for k, v in globals().items() if k.isupper()})
    django.setup()  # applies LOGGING
    response = Client().get(
        "/orders/42",
        {"email": "jane@example.com"},
        headers={"X-Request-ID": "demo-django-1", "X-Tenant-ID": "acme"},
    )
    print(response.status_code, "request id", response["X-Request-ID"])
    # logging.shutdown() at exit flushes the handler.
