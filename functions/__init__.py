"""Entry points (Lambda, WSGI, CLI) and the wiring of ports to adapters."""

import sys

# botocore imports urllib3.contrib.pyopenssl only to read back the standard library's SSLContext it saved,
# and falls back to urllib3's own (the same class) when it cannot. pyOpenSSL is installed for
# python-alipay-sdk, so every function would load it, OpenSSL and cryptography's x509 at each cold start
# (about 45 ms) for nothing: refuse that one import. Nothing here injects pyOpenSSL into urllib3.
sys.modules.setdefault("urllib3.contrib.pyopenssl", None)  # type: ignore[arg-type]
