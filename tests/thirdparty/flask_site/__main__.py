"""Serves the site: python -m tests.thirdparty.flask_site PORT."""

import sys

from tests.thirdparty.flask_site.app import create_app

create_app().run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
