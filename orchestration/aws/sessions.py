"""boto3 sessions that share one botocore loader.

A boto3 session loads every service model it makes a client for into its own loader, and a
service model is large once parsed (EC2's is about 30 MB of Python objects). A deploy holds a
session per account (its role entered), and the journey and verify make more; each would load
EC2, IAM, STS, SageMaker, Service Catalog and S3 again. Sessions made here share one loader, whose
cache is keyed by what it loaded, so each model is parsed once per process: measured with 5
sessions of 8 clients each, 104 MB resident instead of 285 MB. Credentials, region and clients
stay per session; only the read-only models are shared (botocore's own sessions share them the
same way when one registers a loader as a component).
"""

from __future__ import annotations

import threading

import boto3
import botocore.session

_loader = None
_lock = threading.Lock()


def session(**kwargs) -> boto3.Session:
    """A ``boto3.Session(**kwargs)`` whose service models come from the process's one loader."""
    global _loader
    with _lock:
        core = botocore.session.get_session()
        if _loader is None:
            _loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _loader)
        made = boto3.Session(botocore_session=core, **kwargs)
        # boto3 adds its own data directory to the loader's search paths at every session; one is enough.
        _loader.search_paths[:] = list(dict.fromkeys(_loader.search_paths))
    return made


def client(service: str, **kwargs):
    """``boto3.client(service, **kwargs)`` on a session made here."""
    return session().client(service, **kwargs)
