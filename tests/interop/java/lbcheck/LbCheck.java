// Prints what Dubbo's own load balancers pick (consistent hash, round robin, warm-up
// weights), for tether's balancer tests to compare with (core/src/cluster/balance/). Not part
// of the interop build (build.sh compiles src/ only). Run against the 3.3 line's classpath:
//   mvn -o -q -f tests/interop/java/pom.xml -P dubbo33 dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
//   javac -cp "$(cat /tmp/cp.txt)" -d /tmp/lbcheck tests/interop/java/lbcheck/LbCheck.java
//   java -cp "/tmp/lbcheck:$(cat /tmp/cp.txt)" org.apache.dubbo.rpc.cluster.loadbalance.LbCheck
// It sits in Dubbo's package to reach the package-private calculateWarmupWeight.
package org.apache.dubbo.rpc.cluster.loadbalance;

import java.util.ArrayList;
import java.util.List;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;
import org.apache.dubbo.rpc.RpcInvocation;

/** Prints what Dubbo's own balancers pick, for comparison with tether's. */
public class LbCheck {
    static final class Fake implements Invoker<Object> {
        final URL url;
        Fake(String url) { this.url = URL.valueOf(url); }
        public Class<Object> getInterface() { return Object.class; }
        public Result invoke(Invocation invocation) { throw new UnsupportedOperationException(); }
        public URL getUrl() { return url; }
        public boolean isAvailable() { return true; }
        public void destroy() {}
        public String toString() { return url.getAddress(); }
    }

    static Invocation call(Object... args) {
        Class<?>[] types = new Class<?>[args.length];
        for (int i = 0; i < args.length; i++) types[i] = String.class;
        return new RpcInvocation("m", "demo.Svc", "", types, args);
    }

    public static void main(String[] a) {
        ConsistentHashLoadBalance ch = new ConsistentHashLoadBalance();
        List<Invoker<Object>> three = new ArrayList<>();
        for (int p = 20880; p < 20883; p++) three.add(new Fake("dubbo://127.0.0.1:" + p + "/demo.Svc"));
        for (Object key : new Object[] {"0", "1", "2", "hello", null}) {
            System.out.println("vector " + key + " " + ch.select(three, three.get(0).getUrl(), call(key)));
        }
        List<Invoker<Object>> five = new ArrayList<>();
        for (int i = 0; i < 5; i++) five.add(new Fake("dubbo://10.0.0." + i + ":20880/demo.Svc"));
        for (int k = 0; k < 2000; k++) {
            System.out.println("five user-" + k + " " + ch.select(five, five.get(0).getUrl(), call("user-" + k)));
        }
        // hash.arguments=1,2 and hash.nodes=8 on the first provider
        List<Invoker<Object>> conf = new ArrayList<>();
        for (int p = 20880; p < 20883; p++)
            conf.add(new Fake("dubbo://127.0.0.1:" + p + "/demo.Svc?m.hash.arguments=1,2&hash.nodes=8"));
        for (String[] args : new String[][] {{"x", "hel", "lo"}, {"z", "2"}, {"z", "1"}, {"z", "0"}, {"q", "abc", "def"}}) {
            System.out.println("conf " + String.join("|", args) + " " + ch.select(conf, conf.get(0).getUrl(), call((Object[]) args)));
        }

        RoundRobinLoadBalance rr = new RoundRobinLoadBalance();
        List<Invoker<Object>> abc = new ArrayList<>();
        abc.add(new Fake("dubbo://A:1/demo.Svc?weight=5"));
        abc.add(new Fake("dubbo://B:1/demo.Svc?weight=1"));
        abc.add(new Fake("dubbo://C:1/demo.Svc?weight=1"));
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < 14; i++) seq.append(rr.select(abc, abc.get(0).getUrl(), call("x")).getUrl().getHost());
        System.out.println("rr " + seq);

        for (int up : new int[] {1000, 6000, 60000, 300000, 599999}) {
            System.out.println("warm " + up + " " + AbstractLoadBalance.calculateWarmupWeight(up, 600000, 100));
        }
        for (int[] c : new int[][] {{5000, 10000, 40}, {100, 10000, 40}, {123457, 600000, 7}, {599999, 600000, 2147483647}, {1, 600000, 2147483647}}) {
            System.out.println("warm " + c[0] + "/" + c[1] + "@" + c[2] + " " + AbstractLoadBalance.calculateWarmupWeight(c[0], c[1], c[2]));
        }
    }
}
