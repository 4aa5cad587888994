android {
    namespace = "io.acme.orders"
    defaultConfig {
        applicationId = "io.acme.orders"
        buildConfigField("String", "API_BASE", "\"https://api.acme-corp.io\"")
    }
    signingConfigs {
        create("release") {
            storeFile = file("release.keystore")
            storePassword = System.getenv("STORE_PASSWORD")
            keyAlias = "release"
            keyPassword = "p86uMns2h55gSqqNcErwcocQoYbmOD2ysQaFz7yv"
        }
    }
}
