"""Where the gateway's outputs are kept: an object store behind one small interface
(`objects.ObjectStore`), with two back ends: the local folder (the default: outputs stay
where they were written) and any S3-compatible service (`s3.S3Store`, through boto3).

Errors (one root):

    StoreError               the object store could not do what was asked
    └── StoreUnreachable     it did not answer, or answered with a server error: try again later
"""

from framemesh.storage.errors import StoreError, StoreUnreachable
from framemesh.storage.location import StoreLocation, parse_location
from framemesh.storage.objects import LocalFolder, ObjectStore, open_store

__all__ = ["LocalFolder", "ObjectStore", "StoreError", "StoreLocation", "StoreUnreachable", "open_store", "parse_location"]
