"""The AWS CLI as a user runs it, isolated from the machine's own AWS configuration."""

import json
import os
import subprocess
import sys
from pathlib import Path

AWS = Path(sys.prefix) / 'bin' / 'aws'


def aws_cli(service, endpoint, home):
    """``run(*args, check=True)`` for ``aws <service> ...`` against ``endpoint``: the parsed
    JSON output, or with ``check=False`` the CompletedProcess. ``home`` holds empty config
    and credentials files; dummy keys sign the requests."""
    config, credentials = home / 'config', home / 'credentials'
    config.write_text('')
    credentials.write_text('')
    env = {
        'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
        'HOME': str(home),
        'AWS_ACCESS_KEY_ID': 'testing',
        'AWS_SECRET_ACCESS_KEY': 'testing',
        'AWS_CONFIG_FILE': str(config),
        'AWS_SHARED_CREDENTIALS_FILE': str(credentials),
        'AWS_EC2_METADATA_DISABLED': 'true',
        'AWS_MAX_ATTEMPTS': '1',
    }

    def run(*args, check=True):
        done = subprocess.run(
            [
                str(AWS),
                service,
                *args,
                '--endpoint-url',
                endpoint,
                '--region',
                'us-east-1',
                '--output',
                'json',
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=home,
        )
        if not check:
            return done
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    return run
