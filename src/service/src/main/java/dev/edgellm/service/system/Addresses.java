package dev.edgellm.service.system;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Addresses the service listens on or connects to. */
public final class Addresses {
    private Addresses() {}

    /** Whether {@code host} (a name or address to listen on) is a loopback address. */
    public static boolean isLoopback(String host) {
        if (host == null || host.isBlank()) {
            return false;
        }
        String h = host.strip();
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        try {
            for (InetAddress a : InetAddress.getAllByName(h)) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
