package dev.edgellm.service.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The service's packages import each other in one direction only: no cycles (the REST API and the
 * MQTT intake used to import each other), the request rules both intakes use depend on neither,
 * the MQTT intake does not reach into the REST API or the health checks, and the engine does not
 * know who measures it.
 */
class PackageDependenciesTest {
    private static JavaClasses classes;

    @BeforeAll
    static void load() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("dev.edgellm.service");
        assertTrue(classes.size() > 50, "the service's classes were found: " + classes.size());
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("dev.edgellm.service.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void theRequestRulesBelongToNeitherIntake() {
        noClasses().that().resideInAPackage("dev.edgellm.service.request..").should().dependOnClassesThat()
                .resideInAnyPackage("dev.edgellm.service.api..", "dev.edgellm.service.mqtt..").check(classes);
    }

    @Test
    void theMqttIntakeUsesNeitherTheRestApiNorTheHealthChecks() {
        noClasses().that().resideInAPackage("dev.edgellm.service.mqtt..").should().dependOnClassesThat()
                .resideInAnyPackage("dev.edgellm.service.api..", "dev.edgellm.service.health..").check(classes);
    }

    @Test
    void theEngineKnowsNoIntakeAndNoMetrics() {
        noClasses().that().resideInAPackage("dev.edgellm.service.engine..").should().dependOnClassesThat()
                .resideInAnyPackage("dev.edgellm.service.api..", "dev.edgellm.service.mqtt..", "dev.edgellm.service.monitor..",
                        "dev.edgellm.service.health..").check(classes);
    }

    @Test
    void theSummaryPromptIsAServiceFeatureOnTopOfTheEngine() {
        noClasses().that().resideInAPackage("dev.edgellm.service.summary..").should().dependOnClassesThat()
                .resideInAnyPackage("dev.edgellm.service.api..", "dev.edgellm.service.mqtt..", "io.quarkus..", "jakarta..").check(classes);
    }
}
