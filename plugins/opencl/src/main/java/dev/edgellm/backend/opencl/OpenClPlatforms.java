package dev.edgellm.backend.opencl;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Enumerates OpenCL platforms and devices through JOCL. Loading JOCL can fail in ways that are
 * errors rather than exceptions (no libOpenCL.so.1: {@link UnsatisfiedLinkError} on first use of
 * {@link CL}, {@link NoClassDefFoundError} on every later use); {@link #scan} turns all of them
 * into a result that says what is missing.
 */
final class OpenClPlatforms {

    /** A platform: its index, name, vendor and version. */
    record Platform(int index, String name, String vendor, String version) {}

    /**
     * What a scan found.
     *
     * @param platforms every platform
     * @param devices   every device of every platform
     * @param error     why OpenCL could not be used at all (null when the runtime answered)
     */
    record Scan(List<Platform> platforms, List<OpenClDevice> devices, String error) {}

    /** The way the platforms are listed; tests substitute one that fails. */
    @FunctionalInterface
    interface Source {
        Scan list();
    }

    /** JOCL, the real source. */
    static final Source JOCL = OpenClPlatforms::listWithJocl;

    private static volatile String firstLoadError;

    private OpenClPlatforms() {}

    /** Runs the source; any throwable (linkage errors included) becomes a scan with an error. */
    static Scan scan(Source source) {
        try {
            return source.list();
        } catch (CLException e) {
            return new Scan(List.of(), List.of(), "OpenCL error while listing platforms: " + CL.stringFor_errorCode(e.getStatus()));
        } catch (UnsatisfiedLinkError e) {
            return new Scan(List.of(), List.of(), loadError(e));
        } catch (NoClassDefFoundError e) {
            // JOCL's class initializer failed earlier in this JVM; report the original reason.
            String first = firstLoadError;
            return new Scan(List.of(), List.of(), first != null ? first : "OpenCL runtime could not be loaded: " + e.getMessage());
        } catch (Throwable e) { // never let a driver problem escape a probe
            return new Scan(List.of(), List.of(), "OpenCL runtime failed: " + e);
        }
    }

    private static String loadError(UnsatisfiedLinkError e) {
        String msg = "no OpenCL runtime (libOpenCL.so.1 not loadable: is an ICD loader such as ocl-icd-libopencl1 installed?): "
                + firstLine(e.getMessage());
        if (firstLoadError == null) {
            firstLoadError = msg;
        }
        return msg;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static Scan listWithJocl() {
        CL.setExceptionsEnabled(true);
        int[] count = new int[1];
        try {
            CL.clGetPlatformIDs(0, null, count);
        } catch (CLException e) {
            // ocl-icd answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no ICD is registered.
            if (e.getStatus() == -1001) {
                return new Scan(List.of(), List.of(), null);
            }
            throw e;
        }
        if (count[0] == 0) {
            return new Scan(List.of(), List.of(), null);
        }
        cl_platform_id[] ids = new cl_platform_id[count[0]];
        CL.clGetPlatformIDs(ids.length, ids, null);
        List<Platform> platforms = new ArrayList<>();
        List<OpenClDevice> devices = new ArrayList<>();
        for (int p = 0; p < ids.length; p++) {
            String pname = platformString(ids[p], CL.CL_PLATFORM_NAME);
            platforms.add(new Platform(p, pname, platformString(ids[p], CL.CL_PLATFORM_VENDOR), platformString(ids[p], CL.CL_PLATFORM_VERSION)));
            int[] n = new int[1];
            try {
                CL.clGetDeviceIDs(ids[p], CL.CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (CLException e) {
                if (e.getStatus() == CL.CL_DEVICE_NOT_FOUND) {
                    continue;
                }
                throw e;
            }
            cl_device_id[] devs = new cl_device_id[n[0]];
            CL.clGetDeviceIDs(ids[p], CL.CL_DEVICE_TYPE_ALL, devs.length, devs, null);
            for (cl_device_id d : devs) {
                devices.add(new OpenClDevice(devices.size(), p, pname, ids[p], d,
                        deviceString(d, CL.CL_DEVICE_NAME), deviceString(d, CL.CL_DEVICE_VENDOR), deviceString(d, CL.CL_DEVICE_VERSION),
                        deviceString(d, CL.CL_DRIVER_VERSION), deviceString(d, CL.CL_DEVICE_OPENCL_C_VERSION),
                        deviceLong(d, CL.CL_DEVICE_TYPE), deviceInt(d, CL.CL_DEVICE_MAX_COMPUTE_UNITS),
                        deviceLong(d, CL.CL_DEVICE_GLOBAL_MEM_SIZE), deviceLong(d, CL.CL_DEVICE_LOCAL_MEM_SIZE),
                        deviceLong(d, CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE), deviceSize(d, CL.CL_DEVICE_MAX_WORK_GROUP_SIZE),
                        deviceLong(d, CL.CL_DEVICE_SINGLE_FP_CONFIG), deviceString(d, CL.CL_DEVICE_EXTENSIONS)));
            }
        }
        return new Scan(platforms, devices, null);
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String cString(byte[] buf) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) {
            n++;
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8).trim();
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceSize(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    private static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }
}
