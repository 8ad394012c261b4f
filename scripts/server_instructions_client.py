"""Sends one workload's request N times over one keep-alive connection and
checks every answer (the load script's check: the echo's JSON-RPC result for
id 7). Used by scripts/server-instructions.sh between callgrind's zeroing and
dumping of the server's counters, so the dump holds exactly these requests.

    python3 server_instructions_client.py URL COUNT HEADER... -- BODY
"""

import http.client
import sys
import urllib.parse


def main() -> int:
    url, count = sys.argv[1], int(sys.argv[2])
    split = sys.argv.index("--")
    headers = dict(h.split(": ", 1) for h in sys.argv[3:split])
    body = sys.argv[split + 1].encode()
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    for sent in range(count):
        connection.request("POST", parsed.path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status // 100 != 2 or b'"id":7,"result":{' not in answer or b'"isError":true' in answer:
            print(f"request {sent}: {response.status} {answer[:300]!r}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
