"""The demo subdistrict: a deterministic generator (``data``) and its loading through the same
validation and upserts as a file import (``seed``)."""
