"""The AWS call layer, private to cwlogs: every module that talks to AWS goes through it.

- :mod:`~cwlogs._aws.client`: building boto3 clients (``make_client``, the shared
  ``resolve_client``, ``sibling_client``, ``is_aws_endpoint``); ``cwlogs.client`` is its
  public face.
- :mod:`~cwlogs._aws.calls`: one call mapped and retried (``call_api``), and ``paginate``.
- :mod:`~cwlogs._aws.retry`: the one deadline-aware retry loop and its policy table.
- :mod:`~cwlogs._aws.awserrors`: botocore's exceptions mapped to :mod:`cwlogs.errors`
  (which itself imports nothing from botocore).
"""
