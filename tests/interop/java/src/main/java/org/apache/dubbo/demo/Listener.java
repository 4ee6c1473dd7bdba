package org.apache.dubbo.demo;

/** The callback interface of {@link DemoService#notify}. */
public interface Listener {
    void changed(int i);
}
