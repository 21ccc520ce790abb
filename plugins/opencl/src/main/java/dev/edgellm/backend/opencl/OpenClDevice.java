package dev.edgellm.backend.opencl;

import java.util.Locale;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * One OpenCL device as the probe found it.
 *
 * @param index          position in the probe's list (all platforms, in enumeration order)
 * @param platformIndex  index of its platform
 * @param platformName   CL_PLATFORM_NAME
 * @param platform       the platform handle
 * @param id             the device handle
 * @param name           CL_DEVICE_NAME
 * @param vendor         CL_DEVICE_VENDOR
 * @param version        CL_DEVICE_VERSION ("OpenCL 3.0 PoCL ...")
 * @param driverVersion  CL_DRIVER_VERSION
 * @param openClC        CL_DEVICE_OPENCL_C_VERSION
 * @param type           CL_DEVICE_TYPE bits
 * @param computeUnits   CL_DEVICE_MAX_COMPUTE_UNITS
 * @param globalMem      CL_DEVICE_GLOBAL_MEM_SIZE in bytes
 * @param localMem       CL_DEVICE_LOCAL_MEM_SIZE in bytes
 * @param maxAlloc       CL_DEVICE_MAX_MEM_ALLOC_SIZE in bytes
 * @param maxWorkGroup   CL_DEVICE_MAX_WORK_GROUP_SIZE
 * @param singleFpConfig CL_DEVICE_SINGLE_FP_CONFIG bits
 * @param extensions     CL_DEVICE_EXTENSIONS (space-separated)
 */
public record OpenClDevice(int index, int platformIndex, String platformName, cl_platform_id platform, cl_device_id id,
                           String name, String vendor, String version, String driverVersion, String openClC, long type,
                           int computeUnits, long globalMem, long localMem, long maxAlloc, long maxWorkGroup,
                           long singleFpConfig, String extensions) {

    static final long TYPE_CPU = 1L << 1;
    static final long TYPE_GPU = 1L << 2;
    static final long TYPE_ACCELERATOR = 1L << 3;
    /** CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT in CL_DEVICE_SINGLE_FP_CONFIG. */
    static final long FP_CORRECTLY_ROUNDED_DIVIDE_SQRT = 1L << 7;

    /** "GPU", "CPU", "accelerator", or "other". */
    public String typeName() {
        if ((type & TYPE_GPU) != 0) {
            return "GPU";
        }
        if ((type & TYPE_ACCELERATOR) != 0) {
            return "accelerator";
        }
        if ((type & TYPE_CPU) != 0) {
            return "CPU";
        }
        return "other";
    }

    /** Preference when nothing is configured: GPU over accelerator over CPU. */
    int preference() {
        return switch (typeName()) {
            case "GPU" -> 3;
            case "accelerator" -> 2;
            case "CPU" -> 1;
            default -> 0;
        };
    }

    public boolean hasExtension(String ext) {
        for (String e : extensions.split("\\s+")) {
            if (e.equals(ext)) {
                return true;
            }
        }
        return false;
    }

    public boolean fp16() {
        return hasExtension("cl_khr_fp16");
    }

    public boolean fp64() {
        return hasExtension("cl_khr_fp64");
    }

    /** Whether single-precision division and sqrt are correctly rounded on request. */
    boolean correctlyRoundedDivide() {
        return (singleFpConfig & FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    }

    /** One line: "CPU 'pthread-...' (The pocl project), 2 compute units, 21.4 GiB global memory". */
    public String describe() {
        return String.format(Locale.ROOT, "%s '%s' (%s, %s), %d compute units, %s global memory, %s max allocation",
                typeName(), name, vendor, platformName, computeUnits, OpenClBackend.size(globalMem), OpenClBackend.size(maxAlloc));
    }
}
