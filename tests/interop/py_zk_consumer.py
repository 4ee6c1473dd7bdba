#!/usr/bin/env python3
"""dubbo-ssl-python 0.9.6 as a consumer that knows only ZooKeeper: it reads
/dubbo/<interface>/providers (kazoo, with a watch), keeps dubbo:// providers of version 1.0.0,
registers its own ephemeral consumer node, and calls the demo service's sayHello.

usage: py_zk_consumer.py ZK_HOSTS NAME [CALLS]
Prints "RESULT <answer>" per call, then "CONSUMER NODES <n>" (the consumer nodes it saw
registered while connected); "FAIL <reason>" and exit 1 on failure.
Installed by setup.sh (the venv's python runs it).
"""
import sys

import dubbo_ssl.common.util as util

# It would find its own address by a UDP "connect" to 8.8.8.8: the tests stay on loopback.
util.ip = "127.0.0.1"

from dubbo_ssl.client import DubboClient, ZkRegister  # noqa: E402

SERVICE = "org.apache.dubbo.demo.DemoService"


def main():
    hosts, name = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    zk = ZkRegister(hosts, application_name="tether-interop-py-consumer")
    try:
        client = DubboClient(SERVICE, None, version="1.0.0", zk_register=zk)
        for _ in range(calls):
            print("RESULT %s" % client.call("sayHello", [name], timeout=5.0), flush=True)
        consumers = zk.zk.get_children("/dubbo/%s/consumers" % SERVICE)
        print("CONSUMER NODES %d" % len(consumers), flush=True)
    except Exception as e:  # the test reads the reason
        import traceback

        traceback.print_exc()
        print("FAIL %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)
    finally:
        zk.close()


if __name__ == "__main__":
    main()
