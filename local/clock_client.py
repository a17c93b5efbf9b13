"""A client for the local server's clock control (/_appconfig/clock), for test suites.

Standard library only, so it can be copied into any project::

    from local.clock_client import Clock
    clock = Clock('http://127.0.0.1:8000')
    clock.pause()                 # time stands still (or start with APPCONFIG_CLOCK=manual)
    clock.advance('15m')          # returns once every deployment step, alarm check and
                                  # notification due in those 15 minutes has happened
    clock.now()                   # an aware datetime

Every call answers the clock as the server sees it ({"now", "mode", "speed"}); an error
raises ClockError with the server's status and message.
"""

import json
import urllib.error
import urllib.request
from datetime import datetime

PATH = '/_appconfig/clock'


class ClockError(Exception):
    def __init__(self, status, message):
        super().__init__(f'{status}: {message}')
        self.status = status
        self.message = message


class Clock:
    def __init__(self, endpoint='http://127.0.0.1:8000', timeout=300):
        self.url = endpoint.rstrip('/') + PATH
        self.timeout = timeout

    def get(self):
        return self._call('GET')

    def now(self):
        return datetime.fromisoformat(self.get()['now'].replace('Z', '+00:00'))

    def advance(self, duration):
        """``duration``: "90s", "15m", "2h", "1d", "1h30m", or a number of seconds."""
        return self._call('POST', {'advance': duration})

    def set(self, instant):
        """``instant``: an aware datetime or an ISO-8601 string; never earlier than now."""
        if isinstance(instant, datetime):
            instant = instant.isoformat()
        return self._call('POST', {'set': instant})

    def pause(self):
        return self._call('POST', {'pause': True})

    def resume(self, speed=None):
        body = {'resume': True}
        if speed is not None:
            body['speed'] = speed
        return self._call('POST', body)

    def _call(self, method, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url, data=data, method=method, headers={'Content-Type': 'application/json'}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get('message')
            except ValueError:
                message = error.reason
            raise ClockError(error.code, message) from None
