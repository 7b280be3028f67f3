// Test image only (stackctl-test/jmeter:1). Debian's JMeter 2.13 cannot load any test plan with
// Debian's XStream 1.4.20: XStream 1.4.18 made its security framework an allow-list, and JMeter
// 2.13 predates the permission later JMeter versions grant themselves (AnyTypePermission.ANY, set
// in JMeterUtils since 3.x). This class replaces XStream's NoTypePermission in the image's copy of
// the library so that it allows what JMeter loads, as later JMeter does.
package com.thoughtworks.xstream.security;

public class NoTypePermission implements TypePermission {
    public static final TypePermission NONE = new NoTypePermission();

    public boolean allows(final Class type) {
        return true;
    }

    public int hashCode() {
        return 1;
    }

    public boolean equals(final Object obj) {
        return obj != null && obj.getClass() == NoTypePermission.class;
    }
}
