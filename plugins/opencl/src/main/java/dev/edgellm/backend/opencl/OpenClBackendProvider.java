package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.BackendProbe;
import dev.edgellm.core.backend.BackendProvider;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Registers the OpenCL backend. Priority 50: below the Vector API backend (100), above the scalar
 * oracle (0), so that without a measurement a CPU-only machine keeps its SIMD backend even when
 * pocl offers a CPU "device"; the startup calibration measures this backend like any other and
 * picks it only when it is faster.
 *
 * <p>Device choice: a GPU over an accelerator over a CPU device, the first of a kind in
 * enumeration order; the system property {@value #DEVICE_PROPERTY} overrides it with a device
 * index (as listed by the probe) or a case-insensitive substring of the device name. The property
 * {@value #DISABLE_PROPERTY}{@code =true} makes the backend report itself unusable without touching
 * the OpenCL runtime (for boxes whose driver misbehaves).
 */
public final class OpenClBackendProvider implements BackendProvider {
    public static final String ID = "opencl";
    public static final String DEVICE_PROPERTY = "edgellm.opencl.device";
    public static final String DISABLE_PROPERTY = "edgellm.opencl.disable";
    public static final String NO_PLATFORM = "no OpenCL platform (is an ICD such as pocl installed?)";

    private final OpenClPlatforms.Source source;

    public OpenClBackendProvider() {
        this(OpenClPlatforms.JOCL);
    }

    /** A provider that lists platforms through {@code source} (tests simulate a missing runtime). */
    OpenClBackendProvider(OpenClPlatforms.Source source) {
        this.source = source;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public int priority() {
        return 50;
    }

    /** JOCL, the OpenCL ICD loader and the driver (pocl's starts LLVM, which installs signal handlers). */
    @Override
    public boolean loadsNativeCode() {
        return true;
    }

    /** The outcome of a probe: what was found and which device would be used (null when unusable). */
    record Found(BackendProbe probe, OpenClDevice device) {}

    @Override
    public BackendProbe probe() {
        return find().probe();
    }

    Found find() {
        if (Boolean.getBoolean(DISABLE_PROPERTY)) {
            return new Found(new BackendProbe(ID, false, "disabled by -D" + DISABLE_PROPERTY + "=true", Map.of()), null);
        }
        OpenClPlatforms.Scan scan = OpenClPlatforms.scan(source);
        Map<String, String> details = new LinkedHashMap<>();
        if (scan.error() != null) {
            details.put("error", scan.error());
            return new Found(new BackendProbe(ID, false, scan.error(), details), null);
        }
        details.put("platforms", Integer.toString(scan.platforms().size()));
        for (OpenClPlatforms.Platform p : scan.platforms()) {
            String k = "platform." + p.index() + ".";
            details.put(k + "name", p.name());
            details.put(k + "vendor", p.vendor());
            details.put(k + "version", p.version());
        }
        details.put("devices", Integer.toString(scan.devices().size()));
        for (OpenClDevice d : scan.devices()) {
            String k = "device." + d.index() + ".";
            details.put(k + "name", d.name());
            details.put(k + "platform", Integer.toString(d.platformIndex()));
            details.put(k + "type", d.typeName());
            details.put(k + "vendor", d.vendor());
            details.put(k + "version", d.version());
            details.put(k + "driver", d.driverVersion());
            details.put(k + "opencl_c", d.openClC());
            details.put(k + "compute_units", Integer.toString(d.computeUnits()));
            details.put(k + "global_mem_bytes", Long.toString(d.globalMem()));
            details.put(k + "local_mem_bytes", Long.toString(d.localMem()));
            details.put(k + "max_alloc_bytes", Long.toString(d.maxAlloc()));
            details.put(k + "max_work_group_size", Long.toString(d.maxWorkGroup()));
            details.put(k + "fp16", Boolean.toString(d.fp16()));
            details.put(k + "fp64", Boolean.toString(d.fp64()));
            details.put(k + "extensions", d.extensions().trim().replaceAll("\\s+", " "));
        }
        if (scan.platforms().isEmpty()) {
            return new Found(new BackendProbe(ID, false, NO_PLATFORM, details), null);
        }
        if (scan.devices().isEmpty()) {
            return new Found(new BackendProbe(ID, false, "no OpenCL device on " + scan.platforms().size() + " platform(s): "
                    + String.join(", ", scan.platforms().stream().map(OpenClPlatforms.Platform::name).toList()), details), null);
        }
        String wanted = System.getProperty(DEVICE_PROPERTY);
        OpenClDevice chosen = choose(scan.devices(), wanted);
        if (chosen == null) {
            String msg = "-D" + DEVICE_PROPERTY + "=" + wanted + " matches no OpenCL device (devices: "
                    + String.join(", ", scan.devices().stream().map(d -> d.index() + " '" + d.name() + "'").toList()) + ")";
            return new Found(new BackendProbe(ID, false, msg, details), null);
        }
        details.put("chosen", Integer.toString(chosen.index()));
        details.put("chosen.reason", wanted != null && !wanted.isBlank() ? DEVICE_PROPERTY + "=" + wanted
                : "preferred type (GPU > accelerator > CPU)");
        return new Found(new BackendProbe(ID, true, "device " + chosen.index() + ": " + chosen.describe(), details), chosen);
    }

    /** The configured device (index or name substring), else the preferred one; null when the configuration matches none. */
    static OpenClDevice choose(List<OpenClDevice> devices, String wanted) {
        if (wanted != null && !wanted.isBlank()) {
            String w = wanted.trim();
            if (w.chars().allMatch(Character::isDigit)) {
                int i = Integer.parseInt(w);
                return i < devices.size() ? devices.get(i) : null;
            }
            String lw = w.toLowerCase(Locale.ROOT);
            return devices.stream().filter(d -> d.name().toLowerCase(Locale.ROOT).contains(lw)).findFirst().orElse(null);
        }
        return devices.stream().max(Comparator.comparingInt(OpenClDevice::preference)
                .thenComparing(Comparator.comparingInt(OpenClDevice::index).reversed())).orElse(null);
    }

    @Override
    public Backend create(BackendOptions options) {
        Found f = find();
        if (f.device() == null) {
            throw new IllegalStateException("the opencl backend is not usable here: " + f.probe().summary());
        }
        return new OpenClBackend(f.device(), options);
    }
}
